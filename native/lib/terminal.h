/* The container's terminal: a pty from the container's devpts, the master sent over the
 * --console-socket with SCM_RIGHTS as the OCI runtime CLI says, the slave as stdio and /dev/console. */
#ifndef SHOAL_TERMINAL_H
#define SHOAL_TERMINAL_H
#include <jansson.h>
#include <sys/types.h>

#include "err.h"

/* Opens a pty (after pivot_root / setns into the mount namespace), applies consoleSize, sends the
 * master on sockfd, makes the slave the controlling terminal and stdio; bind-mounts it on
 * /dev/console when mount_console. */
int terminal_setup(int sockfd, const char *prefix, json_t *process, int mount_console, struct sh_err *e);
/* Relays the caller's stdin/stdout to the pty master until pid exits (stdin in raw mode when it
 * is a terminal, window size copied); reaps pid into *status. */
int terminal_relay(int master, pid_t pid, int *status, struct sh_err *e);
/* Sends fd over a unix socket with SCM_RIGHTS. */
int sh_send_fd(int sock, int fd, const char *name, struct sh_err *e);
#endif
