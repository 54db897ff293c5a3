#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"

struct client {
  int fd;
  bool attached;      /* sent REQ_ATTACH: receives output */
  bool stdin_blocked; /* a REQ_STDIN frame waits for the container's stdin to take it */
  bool closing;       /* close once the queue is sent */
  size_t stdin_done;  /* bytes of the first queued REQ_STDIN frame already written */
  size_t in_len;
  unsigned char *in; /* FRAME_HEADER + FRAME_MAX_IN bytes: one incoming frame at most */
  size_t out_off, out_len, out_cap;
  unsigned char *out;
};

static struct {
  int listen_fd;
  const char *path;
  const struct attach_hooks *hooks;
  bool stdin_once;
  bool stdin_once_done;
  bool finished;
  struct client *c[ATTACH_MAX_CLIENTS];
  int slot[ATTACH_MAX_CLIENTS + 1]; /* pollfd index -> client slot (or -1 for the listener) */
} at = {.listen_fd = -1};

int attach_listen(const char *path, const struct attach_hooks *hooks, bool stdin_once, char *err, size_t errlen) {
  at.hooks = hooks;
  at.stdin_once = stdin_once;
  at.path = path;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) {
    snprintf(err, errlen, "attach socket %s: path longer than %zu bytes", path, sizeof sa.sun_path - 1);
    return -1;
  }
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "attach socket %s: socket: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
  mode_t old = umask(0177); /* created 0600: only root may attach */
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  int bind_errno = errno;
  umask(old);
  if (rc < 0) {
    snprintf(err, errlen, "attach socket %s: bind: %s", path, strerror(bind_errno));
    close(fd);
    return -1;
  }
  if (chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
    snprintf(err, errlen, "attach socket %s: chmod/listen: %s", path, strerror(errno));
    close(fd);
    unlink(path);
    return -1;
  }
  at.listen_fd = fd;
  return 0;
}

static void close_listener(void) {
  if (at.listen_fd < 0) return;
  close(at.listen_fd);
  at.listen_fd = -1;
  unlink(at.path);
}

static void client_free(int i) {
  struct client *c = at.c[i];
  if (c == NULL) return;
  bool was_attached = c->attached;
  close(c->fd);
  free(c->in);
  free(c->out);
  free(c);
  at.c[i] = NULL;
  /* With --stdin-once the container's stdin ends when the first attach session ends. */
  if (was_attached && at.stdin_once && !at.stdin_once_done) {
    at.stdin_once_done = true;
    at.hooks->stdin_close();
  }
}

/* Sends what is queued; returns -1 if the client is gone. */
static int client_flush(struct client *c) {
  while (c->out_len > 0) {
    ssize_t n = send(c->fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      return -1;
    }
    c->out_off += (size_t)n;
    c->out_len -= (size_t)n;
  }
  c->out_off = 0;
  return 0;
}

/* Queues one frame. Output frames (droppable) are dropped when the queue is full; replies are
 * not, but a client that lets replies pile up past twice the limit is cut off. */
static int client_queue(struct client *c, int type, const void *buf, size_t len, bool droppable) {
  size_t need = FRAME_HEADER + len;
  if (c->out_len + need > ATTACH_QUEUE_MAX) {
    if (droppable) return 0;
    if (c->out_len + need > 2 * ATTACH_QUEUE_MAX) return -1;
  }
  if (c->out_off > 0 && c->out_off + c->out_len + need > c->out_cap) {
    memmove(c->out, c->out + c->out_off, c->out_len);
    c->out_off = 0;
  }
  if (c->out_off + c->out_len + need > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + need) cap *= 2;
    unsigned char *p = realloc(c->out, cap);
    if (p == NULL) return droppable ? 0 : -1;
    c->out = p;
    c->out_cap = cap;
  }
  unsigned char *h = c->out + c->out_off + c->out_len;
  h[0] = (unsigned char)type;
  h[1] = (unsigned char)(len >> 24);
  h[2] = (unsigned char)(len >> 16);
  h[3] = (unsigned char)(len >> 8);
  h[4] = (unsigned char)len;
  if (len > 0) memcpy(h + FRAME_HEADER, buf, len);
  c->out_len += need;
  return client_flush(c);
}

static int reply(struct client *c, bool ok, const char *text, size_t len) {
  return client_queue(c, ok ? EV_OK : EV_ERROR, text, len, false);
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Acts on one complete frame. Returns 1 when the frame is consumed, 0 when it must wait for stdin
 * to become writable, -1 when the client must be dropped. */
static int handle_frame(struct client *c, int type, unsigned char *payload, size_t len) {
  char err[256];
  switch (type) {
  case REQ_ATTACH:
    c->attached = true;
    at.hooks->attached();
    return reply(c, true, "", 0) < 0 ? -1 : 1;
  case REQ_STDIN:
    while (c->stdin_done < len) {
      ssize_t n = at.hooks->stdin_write(payload + c->stdin_done, len - c->stdin_done);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        break; /* stdin closed or gone: the rest is dropped */
      }
      c->stdin_done += (size_t)n;
    }
    c->stdin_done = 0;
    return 1;
  case REQ_CLOSE_STDIN:
    if (at.stdin_once && !at.stdin_once_done) {
      at.stdin_once_done = true;
      at.hooks->stdin_close();
    }
    return reply(c, true, "", 0) < 0 ? -1 : 1;
  case REQ_RESIZE: {
    int rc = -1;
    if (len != 4)
      snprintf(err, sizeof err, "resize: payload must be 4 bytes, got %zu", len);
    else
      rc = at.hooks->resize((unsigned)payload[0] << 8 | payload[1], (unsigned)payload[2] << 8 | payload[3], err,
                            sizeof err);
    return (rc == 0 ? reply(c, true, "", 0) : reply(c, false, err, strlen(err))) < 0 ? -1 : 1;
  }
  case REQ_REOPEN_LOG: {
    int rc = at.hooks->reopen_log(err, sizeof err);
    return (rc == 0 ? reply(c, true, "", 0) : reply(c, false, err, strlen(err))) < 0 ? -1 : 1;
  }
  case REQ_STATUS: {
    char js[256];
    size_t n = at.hooks->status(js, sizeof js);
    return reply(c, true, js, n) < 0 ? -1 : 1;
  }
  default: {
    int n = snprintf(err, sizeof err, "unknown request type %d", type);
    return reply(c, false, err, (size_t)n) < 0 ? -1 : 1;
  }
  }
}

/* Runs the complete frames held in c->in. Returns -1 when the client must be dropped. */
static int process_input(struct client *c) {
  size_t off = 0;
  int rc = 0;
  while (c->in_len - off >= FRAME_HEADER) {
    uint32_t len = be32(c->in + off + 1);
    if (len > FRAME_MAX_IN) {
      char err[64];
      int n = snprintf(err, sizeof err, "frame of %u bytes exceeds %d", len, FRAME_MAX_IN);
      reply(c, false, err, (size_t)n);
      client_flush(c);
      rc = -1;
      break;
    }
    if (c->in_len - off < FRAME_HEADER + len) break;
    int r = handle_frame(c, c->in[off], c->in + off + FRAME_HEADER, len);
    if (r < 0) {
      rc = -1;
      break;
    }
    if (r == 0) {
      c->stdin_blocked = true;
      break;
    }
    off += FRAME_HEADER + len;
  }
  if (off > 0) {
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
  }
  return rc;
}

static void client_read(int i) {
  struct client *c = at.c[i];
  size_t cap = FRAME_HEADER + FRAME_MAX_IN;
  ssize_t n = recv(c->fd, c->in + c->in_len, cap - c->in_len, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    client_free(i);
    return;
  }
  if (n == 0) {
    client_free(i);
    return;
  }
  c->in_len += (size_t)n;
  if (process_input(c) < 0) client_free(i);
}

static void accept_clients(void) {
  for (;;) {
    int fd = accept4(at.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a transient error: poll tells us again */
    int i = 0;
    while (i < ATTACH_MAX_CLIENTS && at.c[i] != NULL) i++;
    struct client *c = i < ATTACH_MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
    if (c != NULL) c->in = malloc(FRAME_HEADER + FRAME_MAX_IN);
    if (c == NULL || c->in == NULL) {
      static const unsigned char busy[] = {EV_ERROR, 0, 0, 0, 15, 't', 'o', 'o', ' ', 'm', 'a', 'n', 'y', ' ',
                                           'c', 'l', 'i', 'e', 'n', 't'};
      (void)!send(fd, busy, sizeof busy, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (c != NULL) free(c);
      close(fd);
      continue;
    }
    c->fd = fd;
    at.c[i] = c;
  }
}

size_t attach_pollfds(struct pollfd *pfd, size_t max, bool accepting) {
  size_t n = 0;
  if (accepting && at.listen_fd >= 0 && n < max) {
    pfd[n] = (struct pollfd){.fd = at.listen_fd, .events = POLLIN};
    at.slot[n++] = -1;
  }
  for (int i = 0; i < ATTACH_MAX_CLIENTS && n < max; i++) {
    struct client *c = at.c[i];
    if (c == NULL) continue;
    short ev = 0;
    if (!c->stdin_blocked && !c->closing) ev |= POLLIN;
    if (c->out_len > 0) ev |= POLLOUT;
    pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
    at.slot[n++] = i;
  }
  return n;
}

void attach_handle(const struct pollfd *pfd, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (pfd[k].revents == 0) continue;
    int i = at.slot[k];
    if (i < 0) {
      accept_clients();
      continue;
    }
    struct client *c = at.c[i];
    if (c == NULL) continue;
    if (pfd[k].revents & POLLOUT) {
      if (client_flush(c) < 0) {
        client_free(i);
        continue;
      }
    }
    if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (c->closing) {
        client_free(i);
        continue;
      }
      client_read(i);
      continue;
    }
    if (c->closing && c->out_len == 0) client_free(i);
  }
}

void attach_broadcast(int type, const void *buf, size_t len) {
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
    struct client *c = at.c[i];
    if (c == NULL || !c->attached || c->closing) continue;
    if (client_queue(c, type, buf, len, true) < 0) client_free(i);
  }
}

bool attach_stdin_blocked(void) {
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
    if (at.c[i] != NULL && at.c[i]->stdin_blocked) return true;
  }
  return false;
}

void attach_stdin_ready(void) {
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
    struct client *c = at.c[i];
    if (c == NULL || !c->stdin_blocked) continue;
    c->stdin_blocked = false;
    if (process_input(c) < 0) client_free(i);
  }
}

void attach_finish(const char *exit_json, size_t len) {
  at.finished = true;
  close_listener();
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
    struct client *c = at.c[i];
    if (c == NULL) continue;
    c->stdin_blocked = false;
    if (c->attached && client_queue(c, EV_EXIT, exit_json, len, false) < 0) {
      client_free(i);
      continue;
    }
    c->closing = true;
    if (c->out_len == 0) client_free(i);
  }
}

bool attach_output_congested(void) {
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
    const struct client *c = at.c[i];
    if (c != NULL && c->attached && !c->closing && c->out_len + ATTACH_READ_ROOM > ATTACH_QUEUE_MAX) return true;
  }
  return false;
}

bool attach_has_pending(void) {
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
    if (at.c[i] != NULL) return true;
  }
  return false;
}

void attach_shutdown(void) {
  /* stdin is closing with the monitor anyway; no stdin-once hook needed now. */
  at.stdin_once = false;
  for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) client_free(i);
  close_listener();
}
