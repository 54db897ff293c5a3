/* Idmapped bind mounts (mounts[].uidMappings/gidMappings, options idmap/ridmap). Prepared in the
 * runtime before the clone, in the host's user and mount namespaces, because idmapping a mount
 * needs CAP_SYS_ADMIN over the filesystem's user namespace, which a container in its own user
 * namespace does not have: a user namespace carrying the mapping is made by a short-lived child,
 * the source is cloned detached (open_tree OPEN_TREE_CLONE, AT_RECURSIVE for rbind), the clone is
 * idmapped (mount_setattr MOUNT_ATTR_IDMAP, recursively for ridmap) and its fd is inherited by the
 * container process, which moves it onto the target (fs_idmap_attach). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs.h"
#include "ns.h"

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif

static int has_option(json_t *m, const char *name) {
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(m, "options"), i, o) {
    if (json_string_value(o) && !strcmp(json_string_value(o), name)) return 1;
  }
  return 0;
}

static int check_maps(json_t *maps, size_t idx, const char *field, struct sh_err *e) {
  if (!json_is_array(maps) || json_array_size(maps) == 0) return sh_errf(e, "mounts[%zu].%s: must be a non-empty array", idx, field);
  if (json_array_size(maps) > 340) return sh_errf(e, "mounts[%zu].%s: more ranges than the kernel takes (340)", idx, field);
  size_t i;
  json_t *m;
  json_array_foreach(maps, i, m) {
    json_t *c = json_object_get(m, "containerID"), *h = json_object_get(m, "hostID"), *s = json_object_get(m, "size");
    if (!json_is_integer(c) || !json_is_integer(h) || !json_is_integer(s) || json_integer_value(c) < 0 ||
        json_integer_value(h) < 0 || json_integer_value(s) <= 0 || json_integer_value(c) > 0xfffffffeLL ||
        json_integer_value(h) > 0xfffffffeLL)
      return sh_errf(e, "mounts[%zu].%s[%zu]: needs containerID, hostID (0..4294967294) and a positive size", idx, field, i);
  }
  return 0;
}

/* A user namespace whose uid_map/gid_map are the given mappings, as an fd. The child that owns it
 * only waits for the maps to be written and the namespace opened. */
static int userns_with_maps(json_t *maps, size_t idx, struct sh_err *e) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return sh_errno(e, errno, "mounts[%zu]: pipe for the idmap user namespace", idx);
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    int err = errno;
    close(p[0]);
    close(p[1]);
    return sh_errno(e, err, "mounts[%zu]: clone a user namespace for the idmapping", idx);
  }
  if (pid == 0) {
    char c;
    close(p[1]);
    while (read(p[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(p[0]);
  int fd = -1;
  if (ns_write_id_maps(pid, maps, e) == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) sh_errno(e, errno, "mounts[%zu]: open %s", idx, path);
  } else {
    char msg[SH_ERRLEN];
    snprintf(msg, sizeof msg, "%s", e->msg);
    sh_errf(e, "mounts[%zu]: idmapping: %s", idx, msg);
  }
  close(p[1]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return fd;
}

int fs_idmap_prepare(json_t *spec, int userns, struct fs_idmaps *out, struct sh_err *e) {
  json_t *mounts = json_object_get(spec, "mounts");
  json_t *linux_obj = json_object_get(spec, "linux");
  out->n = json_array_size(mounts);
  out->fd = NULL;
  if (out->n == 0) return 0;
  out->fd = malloc(out->n * sizeof *out->fd);
  if (!out->fd) return sh_errno(e, ENOMEM, "mounts: idmap table");
  for (size_t i = 0; i < out->n; i++) out->fd[i] = -1;
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m) {
    json_t *uidm = json_object_get(m, "uidMappings"), *gidm = json_object_get(m, "gidMappings");
    int idmap = has_option(m, "idmap"), ridmap = has_option(m, "ridmap");
    int given = (uidm && !json_is_null(uidm)) || (gidm && !json_is_null(gidm));
    if (!given && !idmap && !ridmap) continue;
    if (given && (!uidm || json_is_null(uidm))) return sh_errf(e, "mounts[%zu].uidMappings: required with gidMappings", i);
    if (given && (!gidm || json_is_null(gidm))) return sh_errf(e, "mounts[%zu].gidMappings: required with uidMappings", i);
    if (given && (check_maps(uidm, i, "uidMappings", e) < 0 || check_maps(gidm, i, "gidMappings", e) < 0)) return -1;
    const char *type = json_string_value(json_object_get(m, "type"));
    int bind = has_option(m, "bind") || has_option(m, "rbind") || (type && !strcmp(type, "bind"));
    if (!bind) return sh_errf(e, "mounts[%zu]: idmapped mounts are bind mounts (type %s has no bind option)", i, type ? type : "(none)");
    json_t *maps;
    if (given) {
      maps = json_pack("{s:O,s:O}", "uidMappings", uidm, "gidMappings", gidm);
    } else {
      if (!userns || !json_array_size(json_object_get(linux_obj, "uidMappings")))
        return sh_errf(e, "mounts[%zu]: option %s needs uidMappings/gidMappings or a user namespace with mappings", i,
                       ridmap ? "ridmap" : "idmap");
      maps = json_pack("{s:O,s:O}", "uidMappings", json_object_get(linux_obj, "uidMappings"), "gidMappings",
                       json_object_get(linux_obj, "gidMappings"));
    }
    const char *src = json_string_value(json_object_get(m, "source"));
    if (!src) {
      json_decref(maps);
      return sh_errf(e, "mounts[%zu]: idmapped bind mount without a source", i);
    }
    int uns = userns_with_maps(maps, i, e);
    json_decref(maps);
    if (uns < 0) return -1;
    unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (has_option(m, "rbind") ? AT_RECURSIVE : 0);
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, tree_flags);
    if (tree < 0) {
      int err = errno;
      close(uns);
      return sh_errno(e, err, "mounts[%zu]: open_tree (clone) %s", i, src);
    }
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned)uns};
    int r = (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (ridmap ? AT_RECURSIVE : 0), &attr, sizeof attr);
    int err = errno;
    close(uns);
    if (r < 0) {
      close(tree);
      return sh_errno(e, err, "mounts[%zu]: idmap %s (mount_setattr MOUNT_ATTR_IDMAP%s; does its filesystem support idmapped mounts?)", i,
                      src, ridmap ? ", recursive" : "");
    }
    out->fd[i] = tree;
  }
  return 0;
}

int fs_idmap_attach(int tree, int target, const char *dest, struct sh_err *e) {
  if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return sh_errno(e, errno, "mount: move the idmapped mount onto %s", dest);
  return 0;
}

void fs_idmap_release(struct fs_idmaps *m) {
  for (size_t i = 0; m->fd && i < m->n; i++)
    if (m->fd[i] >= 0) close(m->fd[i]);
  free(m->fd);
  m->fd = NULL;
  m->n = 0;
}
