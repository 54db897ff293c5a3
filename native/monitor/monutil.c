#include "monutil.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static size_t put(char *out, size_t len, size_t cap, const char *s, size_t n) {
  if (len + n >= cap) return len;
  memcpy(out + len, s, n);
  return len + n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t need;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) need = 2;
  else if (c >= 0xe0 && c <= 0xef) need = 3;
  else if (c >= 0xf0 && c <= 0xf4) need = 4;
  else return 0;
  if (n < need) return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
  }
  return need;
}

size_t mon_json_escape(char *out, size_t len, size_t cap, const char *s, size_t slen) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < slen) {
    unsigned char c = u[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      len = put(out, len, cap, esc, 2);
      i++;
    } else if (c == '\n') {
      len = put(out, len, cap, "\\n", 2);
      i++;
    } else if (c == '\t') {
      len = put(out, len, cap, "\\t", 2);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      len = put(out, len, cap, esc, 6);
      i++;
    } else {
      size_t n = utf8_len(u + i, slen - i);
      if (n == 0) {
        len = put(out, len, cap, "\xef\xbf\xbd", 3);
        i++;
      } else {
        len = put(out, len, cap, s + i, n);
        i += n;
      }
    }
  }
  out[len < cap ? len : cap - 1] = '\0';
  return len;
}

long long mon_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int mon_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, bool durable, char *err, size_t errlen) {
  char tmp[PATH_MAX];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= sizeof tmp) {
    snprintf(err, errlen, "writing %s: path too long", path);
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    snprintf(err, errlen, "writing %s: open: %s", tmp, strerror(errno));
    return -1;
  }
  if (sh_write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
    snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    return -1;
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    snprintf(err, errlen, "writing %s: rename from %s: %s", path, tmp, strerror(errno));
    unlink(tmp);
    return -1;
  }
  if (!durable) return 0;
  /* The rename is durable only once the directory entry is. */
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == dir) slash[1] = '\0';
  else if (slash != NULL) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    snprintf(err, errlen, "writing %s: open directory %s: %s", path, dir, strerror(errno));
    return -1;
  }
  if (fsync(dfd) < 0) {
    snprintf(err, errlen, "writing %s: fsync directory %s: %s", path, dir, strerror(errno));
    close(dfd);
    return -1;
  }
  close(dfd);
  return 0;
}

/* Through syscall(): the monitor is linked against musl, which has no close_range() wrapper (the
 * system call is in Linux since 5.9). */
int mon_close_range(unsigned first, unsigned last) {
  return (int)syscall(SYS_close_range, first, last, 0U);
}
