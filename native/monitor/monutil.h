/* Small helpers shared by the monitor's parts. */
#ifndef SHOAL_MONITOR_UTIL_H
#define SHOAL_MONITOR_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Appends s to out as a JSON string body (no quotes), escaping as RFC 8259 requires; invalid
 * UTF-8 bytes are replaced with U+FFFD. Returns the new length (truncates at cap). */
size_t mon_json_escape(char *out, size_t len, size_t cap, const char *s, size_t slen);
/* Nanoseconds since the epoch (CLOCK_REALTIME). */
long long mon_now_ns(void);
/* Writes path atomically: temp file in the same directory, rename. durable: the file is synced
 * before the rename and the directory after it, so that it survives a crash of the machine. */
int mon_write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, bool durable, char *err, size_t errlen);
/* close_range(first, last, 0): closes every descriptor in [first, last]; 0 or -1 (errno set). */
int mon_close_range(unsigned first, unsigned last);
#endif
