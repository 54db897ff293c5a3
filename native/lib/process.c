#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/close_range.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hooks.h"
#include "terminal.h"

int sync_send(int fd, char kind, const char *payload, struct sh_err *e) {
  char buf[SH_ERRLEN + 64];
  buf[0] = kind;
  size_t n = 1;
  if (payload) {
    size_t pl = strlen(payload);
    if (pl > sizeof buf - 2) pl = sizeof buf - 2;
    memcpy(buf + 1, payload, pl);
    n += pl;
  }
  while (send(fd, buf, n, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return sh_errno(e, errno, "sync: send '%c' to the other side", kind);
  return 0;
}

static int received_fd = -1;

int sync_take_fd(void) {
  int fd = received_fd;
  received_fd = -1;
  return fd;
}

int sync_recv(int fd, char *payload, size_t len, struct sh_err *e) {
  char buf[SH_ERRLEN + 64];
  char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {buf, sizeof buf - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  int reset_seen = 0;
  while ((n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)) < 0) {
    if (errno == EINTR) continue;
    /* A peer that exits with one of our messages unread resets the connection, and the kernel
     * reports that before what the peer sent first (the child's error, sent just before it exited
     * without reading our 'G'). The error is cleared once reported: read again for the message. */
    if (errno == ECONNRESET && !reset_seen) {
      reset_seen = 1;
      continue;
    }
    return sh_errno(e, errno, "sync: receive");
  }
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      if (received_fd >= 0) close(received_fd);
      memcpy(&received_fd, CMSG_DATA(c), sizeof(int));
    }
  if (n == 0) return 0;
  buf[n] = 0;
  if (payload) snprintf(payload, len, "%s", buf + 1);
  return (unsigned char)buf[0];
}

void child_fail(int sync_fd, const struct sh_err *e) {
  struct sh_err ignored;
  sync_send(sync_fd, 'E', e->msg, &ignored);
  _exit(1);
}

/* Finds args[0] on the process's own PATH (not the runtime's). */
static void exec_process(char **argv, char **envp, struct sh_err *e) {
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, envp);
    sh_errno(e, errno, "exec %s", argv[0]);
    return;
  }
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char **p = envp; *p; p++)
    if (!strncmp(*p, "PATH=", 5)) path = *p + 5;
  int last_err = ENOENT;
  for (const char *d = path;;) {
    const char *c = strchr(d, ':');
    size_t n = c ? (size_t)(c - d) : strlen(d);
    char full[4096];
    snprintf(full, sizeof full, "%.*s%s%s", (int)n, d, n ? "/" : "", argv[0]);
    execve(full, argv, envp);
    if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
    if (!c) break;
    d = c + 1;
  }
  sh_errno(e, last_err, "exec %s (searched PATH %s)", argv[0], path);
}

static char **string_vec(json_t *arr) {
  size_t n = json_array_size(arr), i, k = 0;
  char **v = calloc(n + 1, sizeof *v);
  json_t *s;
  json_array_foreach(arr, i, s) {
    if (json_string_value(s)) v[k++] = (char *)json_string_value(s);
  }
  return v;
}

void process_finish(struct proc_ctx *p) {
  struct sh_err e = {{0}};
  json_t *proc = p->process;
  json_t *args = json_object_get(proc, "args");
  if (json_array_size(args) == 0) {
    sh_errf(&e, "process.args is empty");
    child_fail(p->sync_fd, &e);
  }
  if (json_is_true(json_object_get(proc, "terminal"))) {
    if (p->console_fd < 0 && !p->pty_to_parent) {
      sh_errf(&e, "process.terminal is true but no --console-socket was given");
      child_fail(p->sync_fd, &e);
    }
    /* Without a console socket the runtime itself relays the pty: the master goes to it on the
     * sync socket as a 'T' message. */
    int to_parent = p->console_fd < 0;
    if (terminal_setup(to_parent ? p->sync_fd : p->console_fd, to_parent ? "T" : "", proc, p->mount_console, &e) < 0)
      child_fail(p->sync_fd, &e);
  }
  if (rlimits_apply(json_object_get(proc, "rlimits"), &e) < 0) child_fail(p->sync_fd, &e);
  if (oom_score_adj_apply(proc, &e) < 0) child_fail(p->sync_fd, &e);
  if (proc_attrs_apply(&p->attrs, &e) < 0) child_fail(p->sync_fd, &e);
  /* The listener fd must reach the agent while the runtime is still there to send it. */
  if (p->seccomp_notify && seccomp_load_notify(p, &e) < 0) child_fail(p->sync_fd, &e);
  if (json_object_get(proc, "apparmorProfile")) sh_warn("process.apparmorProfile ignored: AppArmor is not enabled on this host");
  if (json_object_get(proc, "selinuxLabel")) sh_warn("process.selinuxLabel ignored: SELinux is not enabled on this host");

  /* Set up and ready: from here the runtime may exit without taking us with it. */
  if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) {
    sh_errno(&e, errno, "prctl PR_SET_PDEATHSIG");
    child_fail(p->sync_fd, &e);
  }
  if (sync_send(p->sync_fd, 'R', NULL, &e) < 0) _exit(1);
  if (p->gate_fd >= 0) {
    char c;
    ssize_t n;
    while ((n = read(p->gate_fd, &c, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) _exit(1);
    close(p->gate_fd);
  } else if (p->gate_fd == -1) {
    int k = sync_recv(p->sync_fd, NULL, 0, &e);
    if (k != 'S') _exit(1);
  }
  if (p->start_hook_state && hooks_run(p->spec, "startContainer", p->start_hook_state, &e) < 0) child_fail(p->sync_fd, &e);

  if (user_apply(json_object_get(proc, "user"), &e) < 0) child_fail(p->sync_fd, &e);
  const char *cwd = json_string_value(json_object_get(proc, "cwd"));
  if (!cwd || cwd[0] != '/') {
    sh_errf(&e, "process.cwd must be an absolute path");
    child_fail(p->sync_fd, &e);
  }
  if (chdir(cwd) < 0) {
    sh_errno(&e, errno, "chdir to process.cwd %s", cwd);
    child_fail(p->sync_fd, &e);
  }
  /* A cwd reached through a descriptor of the host (e.g. /proc/self/fd/N) would sit outside the
   * container's root: getcwd then fails or reports "(unreachable)". */
  char real[4096];
  if (!getcwd(real, sizeof real) || real[0] != '/') {
    sh_errf(&e, "process.cwd %s resolves outside the container's root", cwd);
    child_fail(p->sync_fd, &e);
  }
  /* Nothing of the caller's beyond stdio and --preserve-fds survives exec. */
  unsigned first = 3 + (unsigned)p->preserve_fds;
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    sh_errno(&e, errno, "close_range %u..", first);
    child_fail(p->sync_fd, &e);
  }
  for (unsigned fd = 3; fd < first; fd++) {
    int fl = fcntl((int)fd, F_GETFD);
    if (fl >= 0) fcntl((int)fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (json_is_true(json_object_get(proc, "noNewPrivileges")) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    sh_errno(&e, errno, "prctl PR_SET_NO_NEW_PRIVS");
    child_fail(p->sync_fd, &e);
  }
  /* Ignored signals survive execve: the process starts with every disposition at its default and
   * nothing blocked, whatever the runtime or its caller set. The raw syscall, because glibc's
   * sigaction refuses the two signals it reserves (32, 33), which make(1) for one leaves ignored. */
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } dfl = { 0 };
    if (syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask) < 0) {
      sh_errno(&e, errno, "resetting the disposition of signal %d", sig);
      child_fail(p->sync_fd, &e);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (!p->seccomp_notify && p->seccomp_prog.insns && seccomp_prog_load(&p->seccomp_prog, 0, &e) < 0) child_fail(p->sync_fd, &e);
  if (caps_apply(&p->caps, &e) < 0) child_fail(p->sync_fd, &e);
  char **argv = string_vec(args);
  char **envp = string_vec(json_object_get(proc, "env"));
  exec_process(argv, envp, &e);
  child_fail(p->sync_fd, &e);
}
