#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static char **string_array(json_t *arr, const char *first) {
  size_t n = json_array_size(arr);
  char **v = calloc(n + 2, sizeof *v);
  size_t k = 0, i;
  json_t *s;
  if (n == 0 && first) v[k++] = (char *)first;
  json_array_foreach(arr, i, s) {
    if (json_string_value(s)) v[k++] = (char *)json_string_value(s);
  }
  v[k] = NULL;
  return v;
}

static int run_one(json_t *hook, const char *kind, size_t idx, const char *state, struct sh_err *e) {
  const char *path = json_string_value(json_object_get(hook, "path"));
  if (!path) return sh_errf(e, "hooks.%s[%zu]: no path", kind, idx);
  json_t *t = json_object_get(hook, "timeout");
  long long timeout = t && json_is_integer(t) ? json_integer_value(t) : 0;
  if (t && timeout <= 0) return sh_errf(e, "hooks.%s[%zu]: timeout must be positive", kind, idx);
  char **argv = string_array(json_object_get(hook, "args"), path);
  char **envp = string_array(json_object_get(hook, "env"), NULL);
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) {
    free(argv);
    free(envp);
    return sh_errno(e, errno, "hooks.%s[%zu]: pipe", kind, idx);
  }
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    free(argv);
    free(envp);
    close(in[0]);
    close(in[1]);
    return sh_errno(e, err, "hooks.%s[%zu]: fork", kind, idx);
  }
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    dprintf(STDERR_FILENO, "shoal-runtime: hooks.%s[%zu]: exec %s: %s\n", kind, idx, path, strerror(errno));
    _exit(127);
  }
  free(argv);
  free(envp);
  close(in[0]);
  /* The state is small (well below a pipe's buffer); a hook that does not read it still runs. */
  signal(SIGPIPE, SIG_IGN);
  if (sh_write_all(in[1], state, strlen(state)) < 0 && errno != EPIPE) { /* reported by the exit status */ }
  close(in[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0) {
    struct pollfd pfd = {pidfd, POLLIN, 0};
    int r;
    do r = poll(&pfd, 1, timeout > 0 ? (int)(timeout * 1000) : -1);
    while (r < 0 && errno == EINTR);
    close(pidfd);
    if (r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      return sh_errf(e, "hooks.%s[%zu]: %s timed out after %llds", kind, idx, path, timeout);
    }
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return sh_errno(e, errno, "hooks.%s[%zu]: wait for %s", kind, idx, path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFSIGNALED(status)) return sh_errf(e, "hooks.%s[%zu]: %s killed by signal %d", kind, idx, path, WTERMSIG(status));
  return sh_errf(e, "hooks.%s[%zu]: %s exited with status %d", kind, idx, path, WEXITSTATUS(status));
}

int hooks_run(json_t *spec, const char *kind, const char *state_json, struct sh_err *e) {
  json_t *list = json_object_get(json_object_get(spec, "hooks"), kind);
  size_t i;
  json_t *h;
  json_array_foreach(list, i, h) {
    if (run_one(h, kind, i, state_json, e) < 0) return -1;
  }
  return 0;
}
