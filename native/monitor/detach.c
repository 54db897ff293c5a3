#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monutil.h"

/* Closes every descriptor from `from` up except keep_fd. */
static int close_from(int from, int keep_fd) {
  if (keep_fd < from) return mon_close_range((unsigned)from, ~0U);
  if (keep_fd > from && mon_close_range((unsigned)from, (unsigned)keep_fd - 1) < 0) return -1;
  return mon_close_range((unsigned)keep_fd + 1, ~0U);
}

static int stdio_to_devnull(char *err, size_t errlen) {
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "detach: open /dev/null: %s", strerror(errno));
    return -1;
  }
  for (int i = 0; i < 3; i++) {
    if (fd != i && dup2(fd, i) < 0) {
      snprintf(err, errlen, "detach: dup2 /dev/null to %d: %s", i, strerror(errno));
      return -1;
    }
  }
  if (fd > 2) close(fd);
  return 0;
}

int mon_detach(int keep_fd, char *err, size_t errlen) {
  pid_t first = fork();
  if (first < 0) {
    snprintf(err, errlen, "detach: fork: %s", strerror(errno));
    return -1;
  }
  if (first > 0) {
    /* Original process: reap the intermediate so nothing is left for the caller but our exit. */
    int status;
    while (waitpid(first, &status, 0) < 0) {
      if (errno != EINTR) _exit(1);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  /* Intermediate: a new session, so no terminal signal or process-group kill aimed at the caller
   * reaches the monitor; then fork again so the monitor is not a session leader and is re-parented
   * (to init or the nearest subreaper) when the intermediate exits. */
  if (setsid() < 0) {
    snprintf(err, errlen, "detach: setsid: %s", strerror(errno));
    if (keep_fd >= 0) dprintf(keep_fd, "{\"error\":\"detach: setsid failed\"}\n");
    _exit(1);
  }
  pid_t second = fork();
  if (second < 0) {
    if (keep_fd >= 0) dprintf(keep_fd, "{\"error\":\"detach: fork: %s\"}\n", strerror(errno));
    _exit(1);
  }
  if (second > 0) _exit(0);

  /* The monitor. Errors from here on are the monitor's to report on keep_fd. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
    snprintf(err, errlen, "detach: prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
    return -2;
  }
  if (chdir("/") < 0) {
    snprintf(err, errlen, "detach: chdir /: %s", strerror(errno));
    return -2;
  }
  if (stdio_to_devnull(err, errlen) < 0) return -2;
  if (close_from(3, keep_fd) < 0) {
    snprintf(err, errlen, "detach: close_range: %s", strerror(errno));
    return -2;
  }
  return 0;
}
