/* Leaving the caller: the monitor must not be the daemon's child nor hold any of its descriptors,
 * so that it outlives a daemon killed with SIGKILL. */
#ifndef SHOAL_MONITOR_DETACH_H
#define SHOAL_MONITOR_DETACH_H
#include <stddef.h>

/* Double fork with setsid in between (one fork when the process leads a session of its own
 * already). Returns 0 in the detached process; the original process exits (after the intermediate
 * one has, when there is one). The detached process is a child subreaper, runs in "/", has
 * /dev/null as stdio and no descriptor but keep_fd and keep_fd2 (either may be -1). Returns -1 with
 * err when the first fork fails (still in the caller's process), -2 with err when setting up the
 * detached monitor fails (the caller is gone: report on keep_fd). */
int mon_detach(int keep_fd, int keep_fd2, char *err, size_t errlen);
#endif
