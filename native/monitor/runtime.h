/* Running the OCI runtime's `create` as the monitor's child. */
#ifndef SHOAL_MONITOR_RUNTIME_H
#define SHOAL_MONITOR_RUNTIME_H
#include <stddef.h>
#include <sys/types.h>

#include "options.h"
#include "stdio.h"

/* Forks and execs `RUNTIME [--root R] [--log L] create --bundle B --pid-file P
 * [--console-socket S] ID` (or, with --exec-process, `exec --detach --process F [--tty] --pid-file P
 * [--console-socket S] ID`) with s->child_fd as its stdio. Returns the child's pid or -1. */
pid_t runtime_spawn_create(const struct mon_options *o, const struct mon_stdio *s, char *err, size_t errlen);
/* Reads the container's pid from the pid file the runtime wrote. */
pid_t runtime_read_pid(const char *pid_file, char *err, size_t errlen);
#endif
