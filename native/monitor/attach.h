/* The attach/control socket: a unix stream socket (0600) that serves several clients at once.
 * Attached clients get the container's output live; any client can send stdin, resizes and
 * log-reopen requests (framing in protocol.h). Nothing a client does can block the container's
 * output or the log: output to a client that does not keep up is dropped for that client. */
#ifndef SHOAL_MONITOR_ATTACH_H
#define SHOAL_MONITOR_ATTACH_H
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Bytes of output queued for one client before further output frames to it are dropped. */
#define ATTACH_QUEUE_MAX (256 * 1024)
/* Room one read of container output (and its frame header) needs in a client's queue. */
#define ATTACH_READ_ROOM (32768 + 16)
#define ATTACH_MAX_CLIENTS 64

struct attach_hooks {
  /* Writes container stdin: bytes written, or -1 with errno (EAGAIN: try when writable;
   * anything else: stdin is gone and the bytes are dropped). */
  ssize_t (*stdin_write)(const void *buf, size_t len);
  void (*stdin_close)(void);
  int (*resize)(unsigned rows, unsigned cols, char *err, size_t errlen);
  int (*reopen_log)(char *err, size_t errlen);
  /* Writes the STATUS reply JSON into out; returns its length. */
  size_t (*status)(char *out, size_t cap);
  /* A client sent ATTACH (the first one releases output held back in exec mode). */
  void (*attached)(void);
};

/* Creates the listening socket at path (replacing a stale socket file there). */
int attach_listen(const char *path, const struct attach_hooks *hooks, bool stdin_once, char *err, size_t errlen);
/* Fills pfd with the listener (when accepting) and the clients; returns the count used. */
size_t attach_pollfds(struct pollfd *pfd, size_t max, bool accepting);
/* Handles the revents of the entries attach_pollfds filled. */
void attach_handle(const struct pollfd *pfd, size_t n);
/* Sends an output frame (EV_STDOUT / EV_STDERR) to every attached client. */
void attach_broadcast(int type, const void *buf, size_t len);
/* True when a client waits for the container's stdin to become writable. */
bool attach_stdin_blocked(void);
/* The container's stdin became writable (or failed): resume the waiting clients. */
void attach_stdin_ready(void);
/* The container exited: sends EV_EXIT with exit_json to attached clients, closes the listener and
 * unlinks its path; clients close once their queue is sent. */
void attach_finish(const char *exit_json, size_t len);
/* True while some client still has queued frames. */
bool attach_has_pending(void);
/* Whether an attached client's queue lacks room for one more read of output: an exec session's
 * output is then left in the pipe (the writer waits) instead of being dropped. */
bool attach_output_congested(void);
/* Closes every client and the listener (unlinking its path if still bound). */
void attach_shutdown(void);
#endif
