/* /dev inside the container: the spec's default devices and linux.devices. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs.h"

/* Creates one device node at path (inside the rootfs); in a user namespace, where mknod is not
 * allowed, bind-mounts the host's node instead. */
static int make_node(struct fs_ctx *c, const char *path, mode_t type, unsigned maj, unsigned min, mode_t perm,
                     uid_t uid, gid_t gid, const char *host, struct sh_err *e) {
  const char *slash = strrchr(path, '/');
  char parent[4096];
  snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
  int pfd = fs_mkpath_in_root(c->rootfd, parent[0] ? parent : "/", 1, e);
  if (pfd < 0) return -1;
  char dirpath[64];
  snprintf(dirpath, sizeof dirpath, "/proc/self/fd/%d", pfd);
  int dfd = open(dirpath, O_DIRECTORY | O_CLOEXEC);
  close(pfd);
  if (dfd < 0) return sh_errno(e, errno, "device %s: open parent", path);
  const char *name = slash + 1;
  unlinkat(dfd, name, 0);
  int r;
  if (!c->userns) {
    r = mknodat(dfd, name, type | perm, makedev(maj, min));
    if (r == 0 && fchmodat(dfd, name, perm, 0) < 0) r = -1;
    if (r == 0 && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) r = -1;
    if (r < 0) {
      int err = errno;
      close(dfd);
      return sh_errno(e, err, "device %s: mknod %u:%u", path, maj, min);
    }
    close(dfd);
    return 0;
  }
  int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    close(dfd);
    return sh_errno(e, err, "device %s: create bind target", path);
  }
  close(fd);
  char target[4096];
  snprintf(target, sizeof target, "%s/%s", dirpath, name);
  close(dfd);
  int tfd = fs_open_in_root(c->rootfd, path, O_PATH, e);
  if (tfd < 0) return -1;
  snprintf(target, sizeof target, "/proc/self/fd/%d", tfd);
  r = mount(host, target, NULL, MS_BIND, NULL);
  int err = errno;
  close(tfd);
  if (r < 0) return sh_errno(e, err, "device %s: bind %s", path, host);
  return 0;
}

static int symlink_in_dev(struct fs_ctx *c, const char *target, const char *name, struct sh_err *e) {
  int dfd = fs_open_in_root(c->rootfd, "/dev", O_DIRECTORY, e);
  if (dfd < 0) return -1;
  int r = symlinkat(target, dfd, name);
  int err = errno;
  close(dfd);
  if (r < 0 && err != EEXIST) return sh_errno(e, err, "symlink /dev/%s -> %s", name, target);
  return 0;
}

int fs_create_devices(struct fs_ctx *c, int default_devices, struct sh_err *e) {
  mode_t old = umask(0);
  int r = 0;
  if (default_devices) {
    static const struct {
      const char *name;
      unsigned maj, min;
    } defs[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    for (size_t i = 0; r == 0 && i < sizeof defs / sizeof defs[0]; i++) {
      char path[32], host[32];
      snprintf(path, sizeof path, "/dev/%s", defs[i].name);
      snprintf(host, sizeof host, "/dev/%s", defs[i].name);
      r = make_node(c, path, S_IFCHR, defs[i].maj, defs[i].min, 0666, 0, 0, host, e);
    }
    static const char *const links[][2] = {{"/proc/self/fd", "fd"},     {"/proc/self/fd/0", "stdin"},
                                           {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                           {"pts/ptmx", "ptmx"}};
    for (size_t i = 0; r == 0 && i < sizeof links / sizeof links[0]; i++) r = symlink_in_dev(c, links[i][0], links[i][1], e);
  }
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(json_object_get(c->spec, "linux"), "devices"), i, d) {
    if (r < 0) break;
    const char *path = json_string_value(json_object_get(d, "path"));
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!path || path[0] != '/' || !type) {
      r = sh_errf(e, "linux.devices[%zu]: needs an absolute path and a type", i);
      break;
    }
    mode_t t = type[0] == 'b' ? S_IFBLK : type[0] == 'p' ? S_IFIFO : S_IFCHR;
    json_t *fm = json_object_get(d, "fileMode");
    mode_t perm = fm ? (mode_t)json_integer_value(fm) & 07777 : 0666;
    r = make_node(c, path, t, (unsigned)json_integer_value(json_object_get(d, "major")),
                  (unsigned)json_integer_value(json_object_get(d, "minor")), perm,
                  (uid_t)json_integer_value(json_object_get(d, "uid")), (gid_t)json_integer_value(json_object_get(d, "gid")),
                  path, e);
  }
  umask(old);
  return r;
}
