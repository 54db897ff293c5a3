#include "crilog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monutil.h"
#include "util.h"

/* "2006-01-02T15:04:05.000000000Z stdout P " is 40 bytes. */
#define HEADER_MAX 48
/* Several whole records are batched into one write; room for at least one of the longest. */
#define OUT_CAP (CRILOG_MAX_CONTENT + HEADER_MAX + 1 + 16384)

static const char *const stream_names[2] = {"stdout", "stderr"};

/* Zero-initialised so the buffers live in .bss and cost memory only once touched. */
static struct {
  const char *path;
  int fd; /* valid only while `open` */
  bool open;
  char stamp[40]; /* timestamp of the chunk being fed */
  unsigned long lost;
  size_t out_len;
  size_t held_len[2];
  char held[2][CRILOG_MAX_CONTENT]; /* start of a line whose newline has not come yet */
  char out[OUT_CAP];
} lg;

static int open_log(const char *path, char *err, size_t errlen) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    snprintf(err, errlen, "opening log %s: %s", path, strerror(errno));
    return -1;
  }
  return fd;
}

int crilog_open(const char *path, char *err, size_t errlen) {
  lg.path = path;
  if (path == NULL) return 0;
  lg.fd = open_log(path, err, errlen);
  if (lg.fd < 0) return -1;
  lg.open = true;
  return 0;
}

static void flush_out(void) {
  if (lg.out_len == 0) return;
  if (sh_write_all(lg.fd, lg.out, lg.out_len) < 0) {
    /* Nothing to report to: count the loss and keep the container running. */
    lg.lost++;
  }
  lg.out_len = 0;
}

/* Gregorian year, month and day of a count of days since 1970-01-01, computed over 400-year eras
 * (146097 days each) counted from 0000-03-01 so that the leap day ends a year. Done here rather
 * than with gmtime_r, which drags the whole time-zone machinery into a static binary. */
static void civil_from_days(long long days, int *year, unsigned *month, unsigned *day) {
  days += 719468; /* 0000-03-01 to 1970-01-01 */
  long long era = (days >= 0 ? days : days - 146096) / 146097;
  unsigned doe = (unsigned)(days - era * 146097);                             /* day of era */
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;       /* year of era */
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                     /* day of year from March 1 */
  unsigned mp = (5 * doy + 2) / 153;                                          /* month from March */
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = (int)((long long)yoe + era * 400 + (*month <= 2));
}

/* RFC 3339 with nanoseconds in UTC, always 9 fraction digits (valid RFC3339Nano input). */
static void stamp_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long secs = (long long)ts.tv_sec;
  long long days = secs / 86400;
  long long rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int year;
  unsigned month, day;
  civil_from_days(days, &year, &month, &day);
  snprintf(lg.stamp, sizeof lg.stamp, "%04d-%02u-%02uT%02d:%02d:%02d.%09ldZ", year, month, day, (int)(rem / 3600),
           (int)(rem / 60 % 60), (int)(rem % 60), ts.tv_nsec);
}

/* One record whose content is a followed by b. */
static void emit(enum crilog_stream s, char tag, const char *a, size_t alen, const char *b, size_t blen) {
  size_t need = HEADER_MAX + alen + blen + 1;
  if (lg.out_len + need > sizeof lg.out) flush_out();
  int h = snprintf(lg.out + lg.out_len, HEADER_MAX, "%s %s %c ", lg.stamp, stream_names[s], tag);
  size_t at = lg.out_len + (size_t)h;
  memcpy(lg.out + at, a, alen);
  at += alen;
  memcpy(lg.out + at, b, blen);
  at += blen;
  lg.out[at++] = '\n';
  lg.out_len = at;
}

void crilog_feed(enum crilog_stream s, const char *data, size_t len) {
  if (!lg.open || len == 0) return;
  stamp_now();
  char *held = lg.held[s];
  size_t *hl = &lg.held_len[s];
  while (len > 0) {
    if (*hl == CRILOG_MAX_CONTENT) {
      /* A full record's worth and more of the same line follows: this piece is partial. */
      emit(s, 'P', held, *hl, "", 0);
      *hl = 0;
    }
    size_t room = CRILOG_MAX_CONTENT - *hl;
    /* A newline within room+1 bytes ends a line that still fits one record. */
    size_t scan = len < room + 1 ? len : room + 1;
    const char *nl = memchr(data, '\n', scan);
    if (nl != NULL) {
      size_t seg = (size_t)(nl - data);
      emit(s, 'F', held, *hl, data, seg);
      *hl = 0;
      data += seg + 1;
      len -= seg + 1;
    } else {
      size_t take = len < room ? len : room;
      memcpy(held + *hl, data, take);
      *hl += take;
      data += take;
      len -= take;
    }
  }
  flush_out();
}

void crilog_flush_partial(void) {
  if (!lg.open) return;
  stamp_now();
  for (int s = 0; s < 2; s++) {
    if (lg.held_len[s] == 0) continue;
    /* The output ended without a newline: P keeps the reader from adding one. */
    emit((enum crilog_stream)s, 'P', lg.held[s], lg.held_len[s], "", 0);
    lg.held_len[s] = 0;
  }
  flush_out();
}

int crilog_reopen(char *err, size_t errlen) {
  if (lg.path == NULL) {
    snprintf(err, errlen, "no log path configured");
    return -1;
  }
  int fd = open_log(lg.path, err, errlen);
  if (fd < 0) return -1;
  flush_out();
  close(lg.fd);
  lg.fd = fd;
  return 0;
}

unsigned long crilog_lost(void) { return lg.lost; }
