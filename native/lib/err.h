/* One error convention for the whole core: a function that fails returns -1 and leaves one line
 * in a caller-supplied buffer naming the step, the object and (when a syscall failed) strerror. */
#ifndef SHOAL_ERR_H
#define SHOAL_ERR_H
#include <stddef.h>

#define SH_ERRLEN 512

struct sh_err {
  char msg[SH_ERRLEN];
};

/* Formats "step: object: strerror(errnum)" (errnum 0: no strerror part); always returns -1. */
int sh_errno(struct sh_err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Formats a message without errno; always returns -1. */
int sh_errf(struct sh_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies e into a (buf, len) pair as used by the koffi-facing API. */
void sh_err_copy(const struct sh_err *e, char *buf, size_t len);

/* Logging for the executables: warnings and errors go to the --log file (text or json) when one is
 * set, and errors always also go to stderr as one line. The library itself never prints: it calls
 * the warn hook, which is a no-op unless an executable installs one. */
enum sh_log_format { SH_LOG_TEXT, SH_LOG_JSON };
void sh_log_open(const char *path, enum sh_log_format fmt);
void sh_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sh_log_error(const char *msg);
void sh_log_set_warn_hook(void (*hook)(const char *msg));
#endif
