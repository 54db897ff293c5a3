/* Frames on the attach/control socket (README.md documents them for the daemon):
 *   u8 type, u32 big-endian payload length, payload. */
#ifndef SHOAL_MONITOR_PROTOCOL_H
#define SHOAL_MONITOR_PROTOCOL_H

#define FRAME_HEADER 5
/* Longest payload a client may send; longer is a protocol error and closes the connection. */
#define FRAME_MAX_IN 32768

/* client -> monitor */
enum {
  REQ_ATTACH = 0x01,      /* subscribe to output; reply OK */
  REQ_STDIN = 0x02,       /* payload: bytes for the container's stdin; no reply */
  REQ_CLOSE_STDIN = 0x03, /* this client's stdin ended; reply OK */
  REQ_RESIZE = 0x04,      /* payload: u16 rows, u16 cols (big-endian); reply OK or ERROR */
  REQ_REOPEN_LOG = 0x05,  /* reply OK or ERROR */
  REQ_STATUS = 0x06,      /* reply OK with JSON {"pid","monitor_pid","running"} */
};

/* monitor -> client */
enum {
  EV_STDOUT = 0x01, /* payload: output bytes (all output with --tty) */
  EV_STDERR = 0x02, /* payload: output bytes */
  EV_EXIT = 0x03,   /* payload: the exit file's JSON; the connection closes after it */
  EV_OK = 0x10,     /* reply: success, payload empty or JSON */
  EV_ERROR = 0x11,  /* reply: failure, payload is the error text */
};
#endif
