#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

const char *const ns_proc_name[NS_COUNT] = {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"};
static const char *const spec_name[NS_COUNT] = {"user", "mount", "pid", "network", "ipc", "uts", "cgroup", "time"};
static const int flags[NS_COUNT] = {CLONE_NEWUSER, CLONE_NEWNS,     CLONE_NEWPID,    CLONE_NEWNET,
                                    CLONE_NEWIPC,  CLONE_NEWUTS,    CLONE_NEWCGROUP, CLONE_NEWTIME};

int ns_flag(enum ns_kind k) { return flags[k]; }

int ns_parse(json_t *namespaces, struct ns_plan *p, struct sh_err *e) {
  memset(p, 0, sizeof *p);
  size_t i;
  json_t *n;
  json_array_foreach(namespaces, i, n) {
    const char *type = json_string_value(json_object_get(n, "type"));
    const char *path = json_string_value(json_object_get(n, "path"));
    int k;
    for (k = 0; k < NS_COUNT; k++)
      if (type && !strcmp(type, spec_name[k])) break;
    if (k == NS_COUNT) return sh_errf(e, "linux.namespaces[%zu]: unknown type %s", i, type ? type : "(none)");
    if (p->new_ns[k] || p->path[k][0]) return sh_errf(e, "linux.namespaces: %s given twice", type);
    if (path && *path) {
      if (strlen(path) >= sizeof p->path[k]) return sh_errf(e, "linux.namespaces[%zu]: path too long", i);
      snprintf(p->path[k], sizeof p->path[k], "%s", path);
    } else {
      p->new_ns[k] = 1;
    }
  }
  return 0;
}

int ns_join_path(enum ns_kind k, const char *path, struct sh_err *e) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sh_errno(e, errno, "join %s namespace: open %s", spec_name[k], path);
  int r = setns(fd, flags[k]);
  int err = errno;
  close(fd);
  if (r < 0) return sh_errno(e, err, "join %s namespace: setns %s", spec_name[k], path);
  return 0;
}

static int write_map(pid_t pid, const char *file, json_t *maps, struct sh_err *e) {
  char buf[4096] = "", path[64];
  size_t len = 0, i;
  json_t *m;
  json_array_foreach(maps, i, m) {
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%lld %lld %lld\n",
                            json_integer_value(json_object_get(m, "containerID")),
                            json_integer_value(json_object_get(m, "hostID")), json_integer_value(json_object_get(m, "size")));
    if (len >= sizeof buf) return sh_errf(e, "user namespace: %s too long", file);
  }
  if (len == 0) return 0;
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return sh_errno(e, errno, "user namespace: open %s", path);
  int r = sh_write_all(fd, buf, len);
  int err = errno;
  close(fd);
  if (r < 0) return sh_errno(e, err, "user namespace: write %s", path);
  return 0;
}

int ns_write_id_maps(pid_t pid, json_t *linux_obj, struct sh_err *e) {
  if (write_map(pid, "uid_map", json_object_get(linux_obj, "uidMappings"), e) < 0) return -1;
  return write_map(pid, "gid_map", json_object_get(linux_obj, "gidMappings"), e);
}
