/* shoal-monitor: one per container. Holds the container's stdio, writes the CRI log, serves the
 * attach socket, reaps the container and records its exit status; outlives the daemon.
 * README.md in this directory is the contract with the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "attach.h"
#include "crilog.h"
#include "detach.h"
#include "exitstatus.h"
#include "options.h"
#include "protocol.h"
#include "runtime.h"
#include "stdio.h"
#include "monutil.h"
#include "util.h"

#define ERRLEN 1024
/* How long clients may take to read the tail of the output once the container has exited. */
#define EXIT_FLUSH_MS 5000
/* How long an exited exec's remaining output may wait for a slow client. */
#define EXEC_DRAIN_MS 30000
/* Exec mode without a log: how long an exited process's output waits for its first client. */
#define EXEC_ATTACH_WAIT_MS 60000
/* Runtime output kept for the error report when create fails. */
#define CREATE_OUTPUT_MAX 2048

static struct mon_options opt;
static struct mon_stdio sio = {.in_w = -1, .out_r = -1, .err_r = -1, .master = -1, .console_fd = -1,
                               .child_fd = {-1, -1, -1}};
static int sync_fd = -1;
static int sig_fd = -1;
static pid_t monitor_pid;
static pid_t container_pid = -1;
static bool container_exited;
static struct exit_status exit_st;
static bool master_eof;
/* Exec mode without a log: output stays in the pipe (or pty) until the first client attaches, so
 * the session's client sees it from the first byte. */
static bool output_gated;
/* An exec session has one reader, the client that runs it: its output waits for that client
 * rather than being dropped when the client is slow (a container's attach clients may lose
 * output; the CRI log keeps it). */
static bool hold_output_for_client;

/* Children reaped before the container's pid was known (it can be killed before create returns). */
static struct {
  pid_t pid;
  int status;
} early[16];
static int n_early;

static char create_out[CREATE_OUTPUT_MAX];
static size_t create_out_len;

/* Reports a failure to the daemon (sync fd) or, before detaching, to stderr too; exits 1. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
  char msg[ERRLEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char line[ERRLEN * 2 + 32];
  size_t n = (size_t)snprintf(line, sizeof line, "{\"error\":\"");
  n = mon_json_escape(line, n, sizeof line - 4, msg, strlen(msg));
  memcpy(line + n, "\"}\n", 4);
  n += 3;
  if (sync_fd >= 0) (void)!sh_write_all(sync_fd, line, n);
  dprintf(STDERR_FILENO, "shoal-monitor: %s\n", msg);
  stdio_close_console(&sio);
  attach_shutdown();
  _exit(1);
}

static ssize_t hook_stdin_write(const void *buf, size_t len) {
  int fd = sio.tty ? (opt.stdin_open ? sio.master : -1) : sio.in_w;
  if (fd < 0) {
    errno = EBADF;
    return -1;
  }
  return write(fd, buf, len);
}

static void hook_stdin_close(void) {
  if (sio.tty) {
    /* The master cannot be closed without losing the output: send the terminal's EOF instead. */
    if (opt.stdin_open && sio.master >= 0) (void)!write(sio.master, "\x04", 1);
    return;
  }
  if (sio.in_w >= 0) close(sio.in_w);
  sio.in_w = -1;
}

static int hook_resize(unsigned rows, unsigned cols, char *err, size_t errlen) {
  if (!sio.tty || sio.master < 0) {
    snprintf(err, errlen, "resize: the container has no terminal");
    return -1;
  }
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (ioctl(sio.master, TIOCSWINSZ, &ws) < 0) {
    snprintf(err, errlen, "resize: TIOCSWINSZ %ux%u: %s", rows, cols, strerror(errno));
    return -1;
  }
  return 0;
}

static int hook_reopen_log(char *err, size_t errlen) { return crilog_reopen(err, errlen); }

static size_t hook_status(char *out, size_t cap) {
  int n = snprintf(out, cap, "{\"pid\":%d,\"monitor_pid\":%d,\"running\":%s}", (int)container_pid, (int)monitor_pid,
                   container_exited ? "false" : "true");
  return n < 0 ? 0 : (size_t)n;
}

static void hook_attached(void) { output_gated = false; }

static const struct attach_hooks hooks = {
    .stdin_write = hook_stdin_write,
    .stdin_close = hook_stdin_close,
    .resize = hook_resize,
    .reopen_log = hook_reopen_log,
    .status = hook_status,
    .attached = hook_attached,
};

static void setup_signals(void) {
  /* SIGTERM and friends are taken off the default action: a stray signal must not cost the
   * container its stdio. The monitor ends when its container does. */
  sigset_t set;
  sigemptyset(&set);
  int sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&set, sigs[i]);
  if (sigprocmask(SIG_SETMASK, &set, NULL) < 0) fail("sigprocmask: %s", strerror(errno));
  sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) fail("signalfd: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);
}

static void drain_signals(void) {
  struct signalfd_siginfo si;
  while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
  }
}

/* Reaps every child that has exited; returns the wait status of `want` if it was among them. */
static bool reap(pid_t want, int *status) {
  bool found = false;
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) break;
    if (p == want) {
      *status = st;
      found = true;
    } else if (container_pid < 0 && n_early < (int)(sizeof early / sizeof early[0])) {
      early[n_early].pid = p;
      early[n_early].status = st;
      n_early++;
    }
  }
  return found;
}

/* Keeps what the runtime printed during create; closes *fd at end of file (else poll would report
 * the hang-up again and again). */
static void keep_create_output(int *fd) {
  char buf[1024];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n == 0) {
      close(*fd);
      *fd = -1;
      return;
    }
    if (n < 0) return;
    size_t room = sizeof create_out - 1 - create_out_len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(create_out + create_out_len, buf, take);
    create_out_len += take;
  }
}

static void trim_create_output(void) {
  while (create_out_len > 0 && (create_out[create_out_len - 1] == '\n' || create_out[create_out_len - 1] == ' '))
    create_out_len--;
  create_out[create_out_len] = '\0';
}

/* Runs the runtime's create (or exec) and waits for it (and, with --tty, for the pty master). */
static void run_create(void) {
  const char *verb = opt.exec_process != NULL ? "exec" : "create";
  char err[ERRLEN];
  pid_t create_pid = runtime_spawn_create(&opt, &sio, err, sizeof err);
  if (create_pid < 0) fail("%s", err);
  stdio_close_child_ends(&sio);

  /* Exec without a terminal: the process runs before the runtime returns and writes to the same
   * pipes as the runtime, so they are left alone unless the runtime fails (then only it wrote). */
  bool shared_pipes = opt.exec_process != NULL && !sio.tty;
  long long deadline = mon_now_ns() + (long long)opt.create_timeout_s * 1000000000LL;
  int status = 0;
  bool create_done = false;
  while (!create_done) {
    struct pollfd pfd[4];
    int n = 0;
    pfd[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
    if (!shared_pipes && sio.out_r >= 0) pfd[n++] = (struct pollfd){.fd = sio.out_r, .events = POLLIN};
    if (!shared_pipes && sio.err_r >= 0) pfd[n++] = (struct pollfd){.fd = sio.err_r, .events = POLLIN};
    if (sio.console_fd >= 0) pfd[n++] = (struct pollfd){.fd = sio.console_fd, .events = POLLIN};
    long long left_ms = (deadline - mon_now_ns()) / 1000000;
    if (left_ms <= 0) {
      kill(create_pid, SIGKILL);
      fail("%s %s did not finish within %d s", opt.runtime, verb, opt.create_timeout_s);
    }
    int r = poll(pfd, (nfds_t)n, (int)(left_ms > 60000 ? 60000 : left_ms));
    if (r < 0) {
      if (errno == EINTR) continue;
      fail("poll: %s", strerror(errno));
    }
    for (int i = 1; i < n; i++) {
      if (pfd[i].revents == 0) continue;
      if (pfd[i].fd == sio.console_fd) {
        if (stdio_receive_console(&sio, err, sizeof err) < 0) fail("%s", err);
        if (sio.master >= 0) stdio_close_console(&sio);
      } else if (pfd[i].fd == sio.out_r) {
        keep_create_output(&sio.out_r);
      } else if (pfd[i].fd == sio.err_r) {
        keep_create_output(&sio.err_r);
      }
    }
    if (pfd[0].revents != 0) {
      drain_signals();
      if (reap(create_pid, &status)) create_done = true;
    }
  }
  bool failed = WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
  if (!shared_pipes || failed) {
    if (sio.out_r >= 0) keep_create_output(&sio.out_r);
    if (sio.err_r >= 0) keep_create_output(&sio.err_r);
  }
  trim_create_output();
  if (WIFSIGNALED(status))
    fail("%s %s killed by signal %d: %s", opt.runtime, verb, WTERMSIG(status), create_out);
  if (WEXITSTATUS(status) != 0)
    fail("%s %s exited with status %d: %s", opt.runtime, verb, WEXITSTATUS(status), create_out);
  if (sio.tty && sio.master < 0) {
    /* The runtime's connection may still wait in the listen backlog. */
    int r = stdio_receive_console(&sio, err, sizeof err);
    if (r < 0) fail("%s", err);
    if (r == 0) fail("%s %s exited without sending the pty master to %s", opt.runtime, verb, sio.console_path);
  }
  stdio_close_console(&sio);
  container_pid = runtime_read_pid(opt.container_pid_file, err, sizeof err);
  if (container_pid < 0) fail("%s", err);
}

static void report_started(void) {
  if (sync_fd < 0) return;
  char line[96];
  int n = snprintf(line, sizeof line, "{\"pid\":%d,\"monitor_pid\":%d}\n", (int)container_pid, (int)monitor_pid);
  /* The daemon may be gone already; it finds the monitor again through the attach socket. */
  (void)!sh_write_all(sync_fd, line, (size_t)n);
  close(sync_fd);
  sync_fd = -1;
}

/* Reads what fd has now; returns false once it reached end of file (or EIO: pty slave closed). */
static bool pump(int fd, int ev_type, enum crilog_stream s) {
  static char buf[32768];
  for (int rounds = 0; rounds < 8; rounds++) {
    if (hold_output_for_client && attach_output_congested()) return true;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      crilog_feed(s, buf, (size_t)n);
      attach_broadcast(ev_type, buf, (size_t)n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    return false;
  }
  return true;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Everything the container wrote before it exited, without waiting for writers that outlive it
 * (a process that kept the pipe in a shared PID namespace). */
/* Serves the attach clients until none is congested or the deadline passes. */
static void wait_for_clients(long long deadline_ns) {
  while (hold_output_for_client && attach_output_congested() && mon_now_ns() < deadline_ns) {
    struct pollfd pfd[ATTACH_MAX_CLIENTS];
    size_t n = attach_pollfds(pfd, ATTACH_MAX_CLIENTS, false);
    int r = poll(pfd, (nfds_t)n, 100);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) attach_handle(pfd, n);
  }
}

static void drain_output(void) {
  long long deadline = mon_now_ns() + EXEC_DRAIN_MS * 1000000LL;
  for (int i = 0; i < 65536; i++) {
    wait_for_clients(deadline);
    if (hold_output_for_client && attach_output_congested()) break; /* the client stopped reading */
    bool more = false;
    int avail;
    if (sio.out_r >= 0 && ioctl(sio.out_r, FIONREAD, &avail) == 0 && avail > 0) more = pump(sio.out_r, EV_STDOUT, CRILOG_STDOUT) || more;
    if (sio.err_r >= 0 && ioctl(sio.err_r, FIONREAD, &avail) == 0 && avail > 0) more = pump(sio.err_r, EV_STDERR, CRILOG_STDERR) || more;
    if (sio.master >= 0 && !master_eof) {
      if (!pump(sio.master, EV_STDOUT, CRILOG_STDOUT)) master_eof = true;
      else more = true;
      struct pollfd p = {.fd = sio.master, .events = POLLIN};
      if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) more = false;
    }
    if (!more) break;
  }
  crilog_flush_partial();
}

static void check_early_exit(void) {
  for (int i = 0; i < n_early; i++) {
    if (early[i].pid == container_pid) {
      exit_status_from_wait(&exit_st, early[i].status, mon_now_ns());
      container_exited = true;
    }
  }
}

static void serve_until_exit(void) {
  struct pollfd pfd[8 + ATTACH_MAX_CLIENTS];
  long long attach_deadline = 0;
  for (;;) {
    int timeout = -1;
    if (container_exited) {
      if (!output_gated) break;
      long long now = mon_now_ns();
      if (attach_deadline == 0) attach_deadline = now + EXEC_ATTACH_WAIT_MS * 1000000LL;
      if (now >= attach_deadline) break;
      timeout = (int)((attach_deadline - now) / 1000000) + 1;
    }
    bool read_output = !output_gated && !container_exited && !(hold_output_for_client && attach_output_congested());
    int n = 0;
    int i_sig = n;
    pfd[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
    int i_out = -1, i_err = -1, i_master = -1, i_stdin = -1;
    if (read_output && sio.out_r >= 0) i_out = n, pfd[n++] = (struct pollfd){.fd = sio.out_r, .events = POLLIN};
    if (read_output && sio.err_r >= 0) i_err = n, pfd[n++] = (struct pollfd){.fd = sio.err_r, .events = POLLIN};
    if (read_output && sio.master >= 0 && !master_eof)
      i_master = n, pfd[n++] = (struct pollfd){.fd = sio.master, .events = POLLIN};
    if (attach_stdin_blocked()) {
      int fd = sio.tty ? sio.master : sio.in_w;
      if (fd >= 0) i_stdin = n, pfd[n++] = (struct pollfd){.fd = fd, .events = POLLOUT};
      else attach_stdin_ready(); /* stdin closed meanwhile: the waiting bytes are dropped */
    }
    int base = n;
    n += (int)attach_pollfds(pfd + n, sizeof pfd / sizeof pfd[0] - (size_t)n, true);
    int r = poll(pfd, (nfds_t)n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail("poll: %s", strerror(errno));
    }
    if (i_out >= 0 && pfd[i_out].revents && !pump(sio.out_r, EV_STDOUT, CRILOG_STDOUT)) close_fd(&sio.out_r);
    if (i_err >= 0 && pfd[i_err].revents && !pump(sio.err_r, EV_STDERR, CRILOG_STDERR)) close_fd(&sio.err_r);
    if (i_master >= 0 && pfd[i_master].revents && !pump(sio.master, EV_STDOUT, CRILOG_STDOUT)) master_eof = true;
    if (i_stdin >= 0 && pfd[i_stdin].revents) attach_stdin_ready();
    attach_handle(pfd + base, (size_t)(n - base));
    if (pfd[i_sig].revents) {
      drain_signals();
      int st;
      if (reap(container_pid, &st) && !container_exited) {
        exit_status_from_wait(&exit_st, st, mon_now_ns());
        container_exited = true;
      }
    }
  }
}

static void finish(struct oom_probe *oom) {
  drain_output();
  exit_st.oom_killed = oom_probe_killed(oom);
  char js[256];
  size_t len = exit_status_json(&exit_st, js, sizeof js);
  char err[ERRLEN];
  char file[300];
  memcpy(file, js, len);
  file[len] = '\n';
  if (mon_write_file_atomic(opt.exit_file, file, len + 1, 0644, true, err, sizeof err) < 0) {
    dprintf(STDERR_FILENO, "shoal-monitor: %s\n", err);
  }
  attach_finish(js, len);
  long long deadline = mon_now_ns() + EXIT_FLUSH_MS * 1000000LL;
  while (attach_has_pending()) {
    long long left_ms = (deadline - mon_now_ns()) / 1000000;
    if (left_ms <= 0) break;
    struct pollfd pfd[ATTACH_MAX_CLIENTS];
    size_t n = attach_pollfds(pfd, ATTACH_MAX_CLIENTS, false);
    int r = poll(pfd, (nfds_t)n, (int)left_ms);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) attach_handle(pfd, n);
  }
  attach_shutdown();
}

int main(int argc, char **argv) {
  char err[ERRLEN];
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    mon_usage();
    return 0;
  }
  if (mon_parse_options(argc, argv, &opt, err, sizeof err) < 0) {
    /* --sync-fd may be parsed already: the daemon reads the error there. */
    sync_fd = opt.sync_fd;
    if (sync_fd >= 0 && fcntl(sync_fd, F_GETFD) < 0) sync_fd = -1;
    mon_usage();
    fail("%s", err);
  }
  sync_fd = opt.sync_fd;
  if (sync_fd >= 0 && fcntl(sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
    sync_fd = -1;
    fail("--sync-fd %d: %s", opt.sync_fd, strerror(errno));
  }
  if (opt.runtime_fd >= 0 && (opt.runtime_fd == sync_fd || fcntl(opt.runtime_fd, F_SETFD, FD_CLOEXEC) < 0))
    fail("--runtime-fd %d: %s", opt.runtime_fd, opt.runtime_fd == sync_fd ? "is the sync fd" : strerror(errno));
  int rc = mon_detach(sync_fd, opt.runtime_fd, err, sizeof err);
  if (rc < 0) fail("%s", err);
  monitor_pid = getpid();
  setup_signals();
  if (opt.monitor_pid_file != NULL) {
    char pidline[32];
    int n = snprintf(pidline, sizeof pidline, "%d\n", (int)monitor_pid);
    /* Not synced: it names a process that a crash of the machine ends too. */
    if (mon_write_file_atomic(opt.monitor_pid_file, pidline, (size_t)n, 0644, false, err, sizeof err) < 0) fail("%s", err);
  }
  /* A stale exit file would announce an exit that has not happened. */
  if (unlink(opt.exit_file) < 0 && errno != ENOENT) fail("removing stale exit file %s: %s", opt.exit_file, strerror(errno));
  if (crilog_open(opt.log_path, err, sizeof err) < 0) fail("%s", err);
  if (attach_listen(opt.attach_socket, &hooks, opt.stdin_once, err, sizeof err) < 0) fail("%s", err);
  if (stdio_setup(&sio, &opt, err, sizeof err) < 0) fail("%s", err);

  run_create();
  if (opt.runtime_fd >= 0) {
    close(opt.runtime_fd);
    opt.runtime_fd = -1;
  }
  static struct oom_probe oom;
  oom_probe_init(&oom, opt.cgroup_path, opt.bundle);
  output_gated = opt.exec_process != NULL && opt.log_path == NULL;
  hold_output_for_client = opt.exec_process != NULL;
  report_started();
  check_early_exit();
  serve_until_exit();
  finish(&oom);
  return 0;
}
