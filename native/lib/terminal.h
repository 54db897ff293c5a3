/* The container's terminal: a pty from the container's devpts, the master sent over the
 * --console-socket with SCM_RIGHTS as the OCI runtime CLI says, the slave as stdio and /dev/console. */
#ifndef SHOAL_TERMINAL_H
#define SHOAL_TERMINAL_H
#include <jansson.h>

#include "err.h"

/* Opens a pty (after pivot_root / setns into the mount namespace), applies consoleSize, sends the
 * master on sockfd, makes the slave the controlling terminal and stdio; bind-mounts it on
 * /dev/console when mount_console. */
int terminal_setup(int sockfd, json_t *process, int mount_console, struct sh_err *e);
/* Sends fd over a unix socket with SCM_RIGHTS. */
int sh_send_fd(int sock, int fd, const char *name, struct sh_err *e);
#endif
