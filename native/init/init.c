/* shoal-init: PID 1 of a pod's shared PID namespace. It reaps every process re-parented to it,
 * passes termination and user signals on to the rest of the namespace and otherwise sleeps.
 * Linked statically so a rootfs holding only this file can run it. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"

static void noop(int sig) { (void)sig; }

static void reap_all(void) {
  for (;;) {
    pid_t p = waitpid(-1, NULL, WNOHANG);
    if (p > 0) continue;
    if (p < 0 && errno == EINTR) continue;
    return;
  }
}

int main(int argc, char **argv) {
  if (argc > 1) {
    if (strcmp(argv[1], "--version") == 0) {
      static const char v[] = "shoal-init 0.1.0\n";
      (void)!write(STDOUT_FILENO, v, sizeof v - 1);
      return 0;
    }
    static const char u[] = "usage: shoal-init (takes no arguments; meant to run as PID 1 of a pod)\n";
    (void)!write(STDERR_FILENO, u, sizeof u - 1);
    return 2;
  }
  /* Signals are taken synchronously with sigtimedwait. A handler is installed as well because the
   * kernel discards signals whose action is the default for a namespace's init. */
  static const int handled[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT};
  sigset_t set;
  sigemptyset(&set);
  struct sigaction sa = {.sa_handler = noop};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++) {
    sigaddset(&set, handled[i]);
    if (sigaction(handled[i], &sa, NULL) < 0) {
      dprintf(STDERR_FILENO, "shoal-init: sigaction %d: %s\n", handled[i], strerror(errno));
      return 1;
    }
  }
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
    dprintf(STDERR_FILENO, "shoal-init: sigprocmask: %s\n", strerror(errno));
    return 1;
  }
  bool stopping = false;
  for (;;) {
    siginfo_t si;
    /* While stopping, wake once a second to see whether the namespace is empty: the containers'
     * processes are not our children, so their exits raise no SIGCHLD here. */
    struct timespec tick = {.tv_sec = 1};
    int sig = stopping ? sigtimedwait(&set, &si, &tick) : sigwaitinfo(&set, &si);
    if (sig < 0) {
      if (errno != EAGAIN && errno != EINTR) {
        dprintf(STDERR_FILENO, "shoal-init: sigwaitinfo: %s\n", strerror(errno));
        return 1;
      }
    } else if (sig == SIGCHLD) {
      reap_all();
    } else {
      forward_signal(sig);
      if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) stopping = true;
    }
    reap_all();
    if (stopping && !others_alive()) return 0;
  }
}
