#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void vformat(struct sh_err *e, int errnum, const char *fmt, va_list ap) {
  int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof e->msg) n = sizeof e->msg - 1;
  if (errnum != 0) snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
  for (char *p = e->msg; *p; p++)
    if (*p == '\n') *p = ' ';
}

int sh_errno(struct sh_err *e, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vformat(e, errnum, fmt, ap);
  va_end(ap);
  errno = errnum;
  return -1;
}

int sh_errf(struct sh_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vformat(e, 0, fmt, ap);
  va_end(ap);
  return -1;
}

void sh_err_copy(const struct sh_err *e, char *buf, size_t len) {
  if (buf == NULL || len == 0) return;
  snprintf(buf, len, "%s", e->msg);
}

static int log_fd = -1;
static enum sh_log_format log_format = SH_LOG_TEXT;
static void (*warn_hook)(const char *msg);

void sh_log_set_warn_hook(void (*hook)(const char *msg)) { warn_hook = hook; }

void sh_log_open(const char *path, enum sh_log_format fmt) {
  log_format = fmt;
  if (path == NULL) return;
  log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static void json_escape(char *out, size_t outlen, const char *in) {
  size_t o = 0;
  for (; *in && o + 7 < outlen; in++) {
    unsigned char c = (unsigned char)*in;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
}

static void log_line(const char *level, const char *msg) {
  if (log_fd < 0) return;
  char ts[64], line[2048];
  struct timespec now;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts + n, sizeof ts - n, ".%09ldZ", now.tv_nsec);
  int len;
  if (log_format == SH_LOG_JSON) {
    char esc[1500];
    json_escape(esc, sizeof esc, msg);
    len = snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n", level, esc, ts);
  } else {
    len = snprintf(line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
  }
  if (len > (int)sizeof line - 1) len = sizeof line - 1;
  if (write(log_fd, line, (size_t)len) < 0) { /* the log is best effort */ }
}

void sh_warn(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_line("warning", msg);
  if (warn_hook) warn_hook(msg);
}

void sh_log_error(const char *msg) {
  log_line("error", msg);
  dprintf(STDERR_FILENO, "shoal-runtime: %s\n", msg);
}
