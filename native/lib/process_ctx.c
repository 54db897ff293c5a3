/* rlimits, user/groups/umask and oom_score_adj of the container process. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security.h"
#include "util.h"

static int rlimit_by_name(const char *n) {
  static const struct {
    const char *name;
    int r;
  } t[] = {{"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_DATA", RLIMIT_DATA},
           {"RLIMIT_STACK", RLIMIT_STACK},     {"RLIMIT_CORE", RLIMIT_CORE},     {"RLIMIT_RSS", RLIMIT_RSS},
           {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
           {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_LOCKS", RLIMIT_LOCKS},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
           {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},   {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
           {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  for (size_t i = 0; n && i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(n, t[i].name)) return t[i].r;
  return -1;
}

int rlimits_apply(json_t *rlimits, struct sh_err *e) {
  size_t i;
  json_t *r;
  json_array_foreach(rlimits, i, r) {
    const char *type = json_string_value(json_object_get(r, "type"));
    int res = rlimit_by_name(type);
    if (res < 0) return sh_errf(e, "process.rlimits[%zu]: unknown type %s", i, type ? type : "(none)");
    struct rlimit lim = {(rlim_t)json_integer_value(json_object_get(r, "soft")),
                         (rlim_t)json_integer_value(json_object_get(r, "hard"))};
    if (setrlimit(res, &lim) < 0) return sh_errno(e, errno, "setrlimit %s soft=%llu hard=%llu", type,
                                                  (unsigned long long)lim.rlim_cur, (unsigned long long)lim.rlim_max);
  }
  return 0;
}

int user_apply(json_t *user, struct sh_err *e) {
  uid_t uid = (uid_t)json_integer_value(json_object_get(user, "uid"));
  gid_t gid = (gid_t)json_integer_value(json_object_get(user, "gid"));
  json_t *extra = json_object_get(user, "additionalGids");
  gid_t groups[256];
  size_t n = 0, i;
  json_t *g;
  json_array_foreach(extra, i, g) {
    if (n >= sizeof groups / sizeof groups[0]) return sh_errf(e, "process.user.additionalGids: too many groups");
    groups[n++] = (gid_t)json_integer_value(g);
  }
  if (setgroups(n, groups) < 0 && errno != EPERM) return sh_errno(e, errno, "setgroups (%zu groups)", n);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return sh_errno(e, errno, "prctl PR_SET_KEEPCAPS");
  if (setresgid(gid, gid, gid) < 0) return sh_errno(e, errno, "setresgid %u", (unsigned)gid);
  if (setresuid(uid, uid, uid) < 0) return sh_errno(e, errno, "setresuid %u", (unsigned)uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return sh_errno(e, errno, "prctl PR_SET_KEEPCAPS");
  if (uid != 0 && caps_restore_effective(e) < 0) return -1;
  json_t *um = json_object_get(user, "umask");
  umask(um && json_is_integer(um) ? (mode_t)json_integer_value(um) : 022);
  return 0;
}

static int write_oom(int value) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[16];
  int n = snprintf(buf, sizeof buf, "%d", value);
  int r = write(fd, buf, (size_t)n) < 0 ? -1 : 0;
  int err = errno;
  close(fd);
  errno = err;
  return r;
}

int oom_score_adj_apply(json_t *process, struct sh_err *e) {
  json_t *j = json_object_get(process, "oomScoreAdj");
  if (!j || !json_is_integer(j)) return 0;
  int want = (int)json_integer_value(j);
  if (write_oom(want) == 0) return 0;
  if (errno != EACCES && errno != EPERM) return sh_errno(e, errno, "write %d to /proc/self/oom_score_adj", want);
  /* The kernel refuses to go below the caller's own value without CAP_SYS_RESOURCE in the init user
   * namespace (or a host policy); keep the caller's value and say so. */
  char buf[16] = "0";
  int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
  }
  sh_warn("oomScoreAdj %d refused by the kernel (%s); clamped to the caller's %d", want, strerror(errno), atoi(buf));
  return 0;
}
