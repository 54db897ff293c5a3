#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monutil.h"

/* Closes every descriptor from `from` up except the (up to two) fds in keep; -1 entries are unused. */
static int close_except(int from, const int keep[2]) {
  int lo = keep[0] < keep[1] ? keep[0] : keep[1];
  int hi = keep[0] < keep[1] ? keep[1] : keep[0];
  int kept[2] = {lo, hi};
  unsigned next = (unsigned)from;
  for (int i = 0; i < 2; i++) {
    if (kept[i] < from) continue;
    if ((unsigned)kept[i] > next && mon_close_range(next, (unsigned)kept[i] - 1) < 0) return -1;
    next = (unsigned)kept[i] + 1;
  }
  return mon_close_range(next, ~0U);
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

int mon_detach(int keep_fd, int keep_fd2, char *err, size_t errlen) {
  /* Spawned as a session leader already (the daemon's posix_spawn with POSIX_SPAWN_SETSID): one
   * fork is enough to leave a process that is neither the caller's child nor a session leader. */
  bool leader = getsid(0) == getpid();
  pid_t first = fork();
  if (first < 0) {
    snprintf(err, errlen, "detach: fork: %s", strerror(errno));
    return -1;
  }
  if (first > 0) {
    if (leader) _exit(0);
    /* Original process: reap the intermediate so nothing is left for the caller but our exit. */
    int status;
    while (waitpid(first, &status, 0) < 0) {
      if (errno != EINTR) _exit(1);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  if (!leader) {
    /* Intermediate: a new session, so no terminal signal or process-group kill aimed at the caller
     * reaches the monitor; then fork again so the monitor is not a session leader and is
     * re-parented (to init or the nearest subreaper) when the intermediate exits. */
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
  }

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
  const int keep[2] = {keep_fd, keep_fd2};
  if (close_except(3, keep) < 0) {
    snprintf(err, errlen, "detach: close_range: %s", strerror(errno));
    return -2;
  }
  return 0;
}
