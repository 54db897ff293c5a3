#include "forward.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Calls fn for each child pid listed in /proc/self/task/<tid>/children (single-threaded: tid=pid). */
static int for_each_child(void (*fn)(pid_t, int), int arg) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  int count = 0;
  ssize_t n;
  size_t keep = 0;
  while ((n = read(fd, buf + keep, sizeof buf - 1 - keep)) > 0) {
    size_t len = keep + (size_t)n;
    buf[len] = '\0';
    char *p = buf, *end;
    for (;;) {
      long v = strtol(p, &end, 10);
      if (end == p) break;
      if (*end == '\0') {
        /* The number may go on in the next read. */
        break;
      }
      if (v > 0) {
        if (fn != NULL) fn((pid_t)v, arg);
        count++;
      }
      p = end;
    }
    keep = len - (size_t)(p - buf);
    for (size_t i = 0; i < keep; i++) buf[i] = p[i];
  }
  if (keep > 0) {
    buf[keep] = '\0';
    long v = strtol(buf, NULL, 10);
    if (v > 0) {
      if (fn != NULL) fn((pid_t)v, arg);
      count++;
    }
  }
  close(fd);
  return count;
}

static void send_to(pid_t pid, int sig) { kill(pid, sig); }

void forward_signal(int sig) {
  if (getpid() == 1) {
    /* Every process of the namespace but ourselves. */
    kill(-1, sig);
    return;
  }
  for_each_child(send_to, sig);
}

bool others_alive(void) {
  if (getpid() == 1) return kill(-1, 0) == 0 || errno != ESRCH;
  return for_each_child(NULL, 0) > 0;
}
