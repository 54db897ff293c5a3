/* seccomp user notification (SCMP_ACT_NOTIFY): the container process loads its filter with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER before it reports ready and hands the listener fd to the runtime
 * on the sync socket; the runtime sends it with the container process state to the agent at
 * linux.seccomp.listenerPath (one connection, one state, then closed) and only then lets the
 * process go on. SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (a received notification waits killably:
 * only fatal signals withdraw it) is set by loading the exported BPF with seccomp(2) ourselves. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "process.h"
#include "state.h"
#include "util.h"

int seccomp_notify_check(json_t *sc, int *uses_notify, int *wait_killable, struct sh_err *e) {
  *uses_notify = *wait_killable = 0;
  if (!sc || json_is_null(sc)) return 0;
  size_t i;
  json_t *rule;
  json_array_foreach(json_object_get(sc, "syscalls"), i, rule) {
    const char *a = json_string_value(json_object_get(rule, "action"));
    if (a && !strcmp(a, "SCMP_ACT_NOTIFY")) *uses_notify = 1;
  }
  json_array_foreach(json_object_get(sc, "flags"), i, rule) {
    const char *f = json_string_value(rule);
    if (f && !strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) *wait_killable = 1;
  }
  if (*wait_killable && !*uses_notify)
    return sh_errf(e, "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule (the kernel "
                      "accepts it only with SECCOMP_FILTER_FLAG_NEW_LISTENER)");
  json_t *path = json_object_get(sc, "listenerPath");
  json_t *meta = json_object_get(sc, "listenerMetadata");
  if (path && !json_is_string(path)) return sh_errf(e, "linux.seccomp.listenerPath: must be a string");
  if (meta && !json_is_string(meta)) return sh_errf(e, "linux.seccomp.listenerMetadata: must be a string");
  const char *p = json_string_value(path);
  if (meta && (!p || !*p)) return sh_errf(e, "linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath");
  if (!*uses_notify) return 0;
  if (!p || !*p) return sh_errf(e, "linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
  if (p[0] != '/') return sh_errf(e, "linux.seccomp.listenerPath: %s is not an absolute path", p);
  if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return sh_errf(e, "linux.seccomp.listenerPath: %s is longer than a unix socket path may be", p);
  return 0;
}

/* Sends buf on a stream socket, the descriptor with the first part (the spec allows several
 * sendmsg calls, the fds in the first). */
static int send_with_fd(int sock, int fd, const char *buf, size_t len, const char *what, struct sh_err *e) {
  if (sh_send_with_fd(sock, fd, buf, len) < 0) return sh_errno(e, errno, "seccomp: send the listener fd and the container process state to %s", what);
  return 0;
}

/* libseccomp 2.5 has no attribute for SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: the filter it built
 * is exported as BPF and loaded with seccomp(2) and the flags the filter's attributes ask for, plus
 * the listener ones. Returns the listener fd. */
static int load_with_flags(scmp_filter_ctx ctx, unsigned long extra, struct sh_err *e) {
  unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | extra;
  static const struct {
    enum scmp_filter_attr attr;
    unsigned long flag;
  } attrs[] = {{SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH},
               {SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG},
               {SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW}};
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
    uint32_t v = 0;
    int r = seccomp_attr_get(ctx, attrs[i].attr, &v);
    if (r < 0) return sh_errno(e, -r, "seccomp: read filter attribute %d", (int)attrs[i].attr);
    if (v) flags |= attrs[i].flag; /* TSYNC with a listener: the kernel wants TSYNC_ESRCH too */
  }
  int mfd = memfd_create("shoal-seccomp-bpf", MFD_CLOEXEC);
  if (mfd < 0) return sh_errno(e, errno, "seccomp: memfd_create for the BPF program");
  int r = seccomp_export_bpf(ctx, mfd);
  if (r < 0) {
    close(mfd);
    return sh_errno(e, -r, "seccomp: export the filter as BPF");
  }
  off_t size = lseek(mfd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 || size / (off_t)sizeof(struct sock_filter) > 0xffff) {
    int err = size < 0 ? errno : EINVAL;
    close(mfd);
    return sh_errno(e, err, "seccomp: exported BPF program of %lld bytes", (long long)size);
  }
  struct sock_filter *insns = malloc((size_t)size);
  ssize_t n = insns ? pread(mfd, insns, (size_t)size, 0) : -1;
  int err = errno;
  close(mfd);
  if (n != size) {
    free(insns);
    return sh_errno(e, n < 0 ? err : EIO, "seccomp: read back the exported BPF program");
  }
  struct sock_fprog prog = {(unsigned short)(size / (off_t)sizeof(struct sock_filter)), insns};
  int fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  err = errno;
  free(insns);
  if (fd < 0)
    return sh_errno(e, err, "seccomp: load filter with flags 0x%lx (WAIT_KILLABLE_RECV needs Linux 5.19)", flags);
  return fd;
}

int seccomp_load_notify(struct proc_ctx *p, struct sh_err *e) {
  if (json_is_true(json_object_get(p->process, "noNewPrivileges")) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return sh_errno(e, errno, "prctl PR_SET_NO_NEW_PRIVS");
  int fd;
  if (p->seccomp_wait_killable) {
    if ((fd = load_with_flags(p->seccomp, SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, e)) < 0) return -1;
  } else {
    int r = seccomp_load(p->seccomp);
    if (r < 0) return sh_errno(e, -r, "seccomp: load filter with a notification listener");
    fd = seccomp_notify_fd(p->seccomp);
    if (fd < 0) return sh_errno(e, fd == -1 ? EINVAL : -fd, "seccomp: get the notification listener fd");
  }
  /* From here on the runtime's own remaining syscalls go through the filter too. */
  int r = send_with_fd(p->sync_fd, fd, "F", 1, "the runtime", e);
  close(fd);
  if (r < 0) return -1;
  if (sync_recv(p->sync_fd, NULL, 0, e) != 'A') return sh_errf(e, "seccomp: the runtime did not pass the listener fd on");
  return 0;
}

int seccomp_listener_send(json_t *sc, pid_t pid, const char *state_json, int fd, struct sh_err *e) {
  const char *path = json_string_value(json_object_get(sc, "listenerPath"));
  json_error_t je;
  json_t *state = json_loads(state_json, 0, &je);
  if (!state) return sh_errf(e, "seccomp: container state: %s", je.text);
  json_t *cps = json_pack("{s:s,s:[s],s:i,s:o}", "ociVersion", SH_OCI_VERSION, "fds", "seccompFd", "pid", (json_int_t)pid,
                          "state", state);
  const char *meta = json_string_value(json_object_get(sc, "listenerMetadata"));
  if (meta) json_object_set_new(cps, "metadata", json_string(meta));
  char *txt = json_dumps(cps, JSON_COMPACT);
  json_decref(cps);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int r = -1;
  if (sock < 0) {
    sh_errno(e, errno, "seccomp: socket for linux.seccomp.listenerPath");
  } else {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) sh_errno(e, errno, "seccomp: connect to linux.seccomp.listenerPath %s", path);
    else r = send_with_fd(sock, fd, txt, strlen(txt), path, e);
    close(sock);
  }
  free(txt);
  return r;
}
