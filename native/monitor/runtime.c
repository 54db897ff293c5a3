#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "monutil.h"

extern char **environ;

/* In the child: the runtime must start with default signal handling and no inherited fds. */
static void child_exec(const struct mon_options *o, const struct mon_stdio *s) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  for (int i = 0; i < 3; i++) {
    if (dup2(s->child_fd[i], i) < 0) _exit(127);
  }
  /* The runtime's executable, when given as an fd, stays open (close-on-exec) on fd 3 for the
   * exec below; nothing else is inherited. */
  int exe_fd = -1;
  if (o->runtime_fd >= 0) {
    exe_fd = 3;
    if (o->runtime_fd == exe_fd ? fcntl(exe_fd, F_SETFD, FD_CLOEXEC) < 0 : dup3(o->runtime_fd, exe_fd, O_CLOEXEC) < 0) _exit(127);
  }
  if (mon_close_range(exe_fd >= 0 ? 4 : 3, ~0U) < 0) _exit(127);
  const char *argv[16];
  int n = 0;
  argv[n++] = o->runtime;
  if (o->runtime_root != NULL) {
    argv[n++] = "--root";
    argv[n++] = o->runtime_root;
  }
  if (o->runtime_log != NULL) {
    argv[n++] = "--log";
    argv[n++] = o->runtime_log;
  }
  if (o->exec_process != NULL) {
    /* Detached: the runtime returns once the process runs, which is then re-parented to us. */
    argv[n++] = "exec";
    argv[n++] = "--detach";
    argv[n++] = "--process";
    argv[n++] = o->exec_process;
    if (s->tty) argv[n++] = "--tty";
  } else {
    argv[n++] = "create";
    argv[n++] = "--bundle";
    argv[n++] = o->bundle;
  }
  argv[n++] = "--pid-file";
  argv[n++] = o->container_pid_file;
  if (s->tty) {
    argv[n++] = "--console-socket";
    argv[n++] = s->console_path;
  }
  argv[n++] = o->id;
  argv[n] = NULL;
  if (exe_fd >= 0) {
    /* A sealed copy the daemon made: the runtime sees it cannot be written through
     * /proc/self/exe and skips making a copy of its own. */
    syscall(SYS_execveat, exe_fd, "", (char *const *)argv, environ, AT_EMPTY_PATH);
  } else {
    execvp(o->runtime, (char *const *)argv);
  }
  dprintf(2, "exec %s: %s\n", o->runtime, strerror(errno));
  _exit(127);
}

pid_t runtime_spawn_create(const struct mon_options *o, const struct mon_stdio *s, char *err, size_t errlen) {
  /* A stale pid file would be mistaken for this container's. */
  if (unlink(o->container_pid_file) < 0 && errno != ENOENT) {
    snprintf(err, errlen, "removing stale pid file %s: %s", o->container_pid_file, strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(err, errlen, "fork for %s create: %s", o->runtime, strerror(errno));
    return -1;
  }
  if (pid == 0) child_exec(o, s);
  return pid;
}

pid_t runtime_read_pid(const char *pid_file, char *err, size_t errlen) {
  int fd = open(pid_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "reading container pid file %s: %s", pid_file, strerror(errno));
    return -1;
  }
  char buf[32];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int rerr = errno;
  close(fd);
  if (n < 0) {
    snprintf(err, errlen, "reading container pid file %s: %s", pid_file, strerror(rerr));
    return -1;
  }
  buf[n] = '\0';
  char *end;
  long v = strtol(buf, &end, 10);
  while (*end == '\n' || *end == ' ') end++;
  if (end == buf || *end != '\0' || v <= 0 || v > 0x3fffffff) {
    snprintf(err, errlen, "container pid file %s: not a pid: \"%s\"", pid_file, buf);
    return -1;
  }
  return (pid_t)v;
}
