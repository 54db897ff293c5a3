/* The CRI container log file: one record per line,
 *   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <content>\n
 * F ends a line of the container's output (its newline is the record's), P is a piece of a line
 * that goes on in the next record of the same stream (its record newline is not content). */
#ifndef SHOAL_MONITOR_CRILOG_H
#define SHOAL_MONITOR_CRILOG_H
#include <stddef.h>

/* Longest content of one record; longer lines are split into P records ending with an F record. */
#define CRILOG_MAX_CONTENT 16384

enum crilog_stream { CRILOG_STDOUT = 0, CRILOG_STDERR = 1 };

/* Opens path (O_APPEND, created 0640). path NULL: output is not logged (every call is a no-op). */
int crilog_open(const char *path, char *err, size_t errlen);
/* Splits data into records and writes them; whole records per write(2), so a reader or another
 * writer never sees one record cut by another. A line without its newline yet is held back until
 * the newline arrives or it reaches CRILOG_MAX_CONTENT. */
void crilog_feed(enum crilog_stream s, const char *data, size_t len);
/* Writes what is held back of unfinished lines as P records (the container's output ended). */
void crilog_flush_partial(void);
/* Opens the log path anew (after the old file was renamed by log rotation). On failure the old
 * file stays in use and -1 is returned with err. */
int crilog_reopen(char *err, size_t errlen);
/* Count of records lost to write errors (disk full…) since start. */
unsigned long crilog_lost(void);
#endif
