/* Small helpers used across the core. */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>

#include "err.h"

/* Decodes the octal escapes (\040 …) mountinfo uses in paths, in place. */
void sh_unescape_mountinfo(char *s);
/* Writes all of buf to fd (retrying on EINTR / short writes). */
int sh_write_all(int fd, const void *buf, size_t len);
/* Writes value into dir/file (a kernel control file: cgroup, resctrl), open to close; errors name
 * the file and start with what ("cgroup", "linux.intelRdt"). */
int sh_write_at(const char *what, const char *dir, const char *file, const char *value, struct sh_err *e);
/* Sends all of buf (len > 0) on a unix socket with fd attached to its first bytes (SCM_RIGHTS);
 * -1 with errno set on failure. */
int sh_send_with_fd(int sock, int fd, const void *buf, size_t len);
/* A list like "0-3,7" → bits set in bits[] (nbits of them; the caller zeroes it). field names the
 * list in errors, unit one entry of it ("CPU", "node"). Returns the number of ranges read, or -1. */
int sh_parse_id_list(const char *field, const char *unit, const char *s, unsigned long *bits, size_t nbits, struct sh_err *e);
/* Reads a whole small file into a malloc'd NUL-terminated buffer. */
char *sh_read_file(const char *path, size_t *len, struct sh_err *e);
/* Writes a file atomically for readers (temp file, rename); not fsync'd: runtime state only. */
int sh_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct sh_err *e);
/* mkdir -p. */
int sh_mkdir_p(const char *path, mode_t mode, struct sh_err *e);
/* Waiting for the kernel to finish something it gives no event for (tasks leaving a cgroup after
 * SIGKILL, a cgroup's last reference going): sleeps 50 µs, then twice as long each call up to 10 ms,
 * so a quick finish costs microseconds instead of a fixed coarse tick. Returns 0 while the total
 * slept stays under budget_ms, -1 once it is spent (the caller reports the timeout). */
struct sh_backoff {
  long next_us;
  long slept_us;
};
int sh_backoff_wait(struct sh_backoff *b, long budget_ms);
/* Start time of a process (field 22 of /proc/PID/stat), 0 if it does not exist. */
unsigned long long sh_proc_start_time(pid_t pid);
#endif
