#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void sh_unescape_mountinfo(char *s) {
  char *w = s;
  for (char *r = s; *r;) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = 0;
}

int sh_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

char *sh_read_file(const char *path, size_t *lenp, struct sh_err *e) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    sh_errno(e, errno, "read %s", path);
    return NULL;
  }
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  if (!buf) {
    sh_errno(e, ENOMEM, "read %s", path);
    close(fd);
    return NULL;
  }
  for (;;) {
    if (len == cap) {
      cap *= 2;
      char *nb = realloc(buf, cap + 1);
      if (!nb) {
        sh_errno(e, ENOMEM, "read %s (%zu bytes so far)", path, len);
        free(buf);
        close(fd);
        return NULL;
      }
      buf = nb;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sh_errno(e, errno, "read %s", path);
      free(buf);
      close(fd);
      return NULL;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = 0;
  if (lenp) *lenp = len;
  return buf;
}

int sh_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct sh_err *e) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return sh_errno(e, errno, "write %s", tmp);
  /* No fsync: the runtime's state describes processes and dies with them; rename alone keeps
   * readers from ever seeing a partial file. */
  if (sh_write_all(fd, data, len) < 0) {
    int err = errno;
    close(fd);
    unlink(tmp);
    return sh_errno(e, err, "write %s", tmp);
  }
  close(fd);
  if (rename(tmp, path) < 0) {
    int err = errno;
    unlink(tmp);
    return sh_errno(e, err, "rename %s", path);
  }
  return 0;
}

int sh_mkdir_p(const char *path, mode_t mode, struct sh_err *e) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) return sh_errno(e, errno, "mkdir %s", tmp);
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) return sh_errno(e, errno, "mkdir %s", tmp);
  return 0;
}

unsigned long long sh_proc_start_time(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  /* after ") " come fields 3..; start time is field 22 */
  int field = 2;
  for (p++; *p && field < 22; p++)
    if (*p == ' ') field++;
  return strtoull(p, NULL, 10);
}

int sh_write_at(const char *what, const char *dir, const char *file, const char *value, struct sh_err *e) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return sh_errno(e, errno, "%s: open %s", what, path);
  int r = sh_write_all(fd, value, strlen(value));
  int err = errno;
  close(fd);
  if (r < 0) return sh_errno(e, err, "%s: write \"%s\" to %s", what, value, path);
  return 0;
}

int sh_parse_id_list(const char *field, const char *unit, const char *s, unsigned long *bits, size_t nbits, struct sh_err *e) {
  const size_t word = 8 * sizeof *bits;
  int ranges = 0;
  for (const char *p = s; *p; ranges++) {
    char *end;
    errno = 0;
    unsigned long lo = strtoul(p, &end, 10), hi = lo;
    if (end == p || errno) return sh_errf(e, "%s: %s: expected a list like 0-3,7", field, s);
    p = end;
    if (*p == '-') {
      const char *q = p + 1;
      hi = strtoul(q, &end, 10);
      if (end == q) return sh_errf(e, "%s: %s: expected a list like 0-3,7", field, s);
      p = end;
    }
    if (hi < lo) return sh_errf(e, "%s: %s: range %lu-%lu is reversed", field, s, lo, hi);
    if (hi >= nbits) return sh_errf(e, "%s: %s: %s %lu is above %zu", field, s, unit, hi, nbits - 1);
    for (unsigned long n = lo; n <= hi; n++) bits[n / word] |= 1UL << (n % word);
    if (*p == ',') p++;
    else if (*p) return sh_errf(e, "%s: %s: unexpected '%c'", field, s, *p);
  }
  return ranges;
}

int sh_backoff_wait(struct sh_backoff *b, long budget_ms) {
  if (b->next_us <= 0) b->next_us = 50;
  if (b->slept_us >= budget_ms * 1000) return -1;
  struct timespec ts = {b->next_us / 1000000, (b->next_us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
  b->slept_us += b->next_us;
  b->next_us = b->next_us * 2 > 10000 ? 10000 : b->next_us * 2;
  return 0;
}

int sh_send_with_fd(int sock, int fd, const void *buf, size_t len) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)buf, len};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0)
    if (errno != EINTR) return -1;
  for (size_t off = (size_t)n; off < len;) {
    ssize_t w = send(sock, (const char *)buf + off, len - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    off += (size_t)w;
  }
  return 0;
}
