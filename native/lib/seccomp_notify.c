/* seccomp user notification (SCMP_ACT_NOTIFY): the container process loads its filter with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER before it reports ready and hands the listener fd to the runtime
 * on the sync socket; the runtime sends it with the container process state to the agent at
 * linux.seccomp.listenerPath (one connection, one state, then closed) and only then lets the
 * process go on. SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (a received notification waits killably:
 * only fatal signals withdraw it) is set by loading the exported BPF with seccomp(2) ourselves. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
  struct seccomp_prog prog;
  if (seccomp_prog_export(ctx, 1, &prog, e) < 0) return -1;
  int fd = seccomp_prog_load(&prog, SECCOMP_FILTER_FLAG_NEW_LISTENER | extra, e);
  seccomp_prog_free(&prog);
  if (fd < 0) {
    char was[SH_ERRLEN];
    snprintf(was, sizeof was, "%s", e->msg);
    sh_errf(e, "%s (WAIT_KILLABLE_RECV needs Linux 5.19)", was);
  }
  return fd;
}

int proc_seccomp_prepare(struct proc_ctx *p, json_t *sc, const char *root, struct sh_err *e) {
  if (seccomp_notify_check(sc, &p->seccomp_notify, &p->seccomp_wait_killable, e) < 0) return -1;
  if (p->seccomp_notify) return seccomp_build(sc, &p->seccomp, e);
  return seccomp_prog_get(sc, root, &p->seccomp_prog, e);
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
