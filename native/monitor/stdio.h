/* The container's stdio as the monitor holds it: pipes, or the pty master the runtime hands over
 * through a console socket (OCI runtime spec: terminal=true with --console-socket). */
#ifndef SHOAL_MONITOR_STDIO_H
#define SHOAL_MONITOR_STDIO_H
#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct mon_stdio {
  bool tty;
  int in_w;        /* write end of the container's stdin pipe (pipe mode, --stdin), else -1 */
  int out_r;       /* stdout pipe (pipe mode), else -1 */
  int err_r;       /* stderr pipe (pipe mode); with --tty the runtime's own output during create */
  int master;      /* pty master once received (tty mode), else -1 */
  int console_fd;  /* console socket listener while waiting for the pty master, else -1 */
  int child_fd[3]; /* what the runtime's create runs with as fds 0, 1, 2 */
  char console_path[MON_SOCKET_PATH_MAX + 1];
};

/* Creates pipes (and the console socket with --tty). Monitor ends are non-blocking, close-on-exec. */
int stdio_setup(struct mon_stdio *s, const struct mon_options *o, char *err, size_t errlen);
/* Closes the ends given to the runtime (after it was forked), so EOF can be seen. */
void stdio_close_child_ends(struct mon_stdio *s);
/* Accepts the runtime's connection on the console socket and takes the pty master from it.
 * Returns 1 when the master was received, 0 when nothing is pending yet, -1 on error. */
int stdio_receive_console(struct mon_stdio *s, char *err, size_t errlen);
/* Removes the console socket (once the master is here, or on failure). */
void stdio_close_console(struct mon_stdio *s);
#endif
