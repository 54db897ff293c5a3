/* Command line of shoal-monitor (the contract with the daemon is in README.md). */
#ifndef SHOAL_MONITOR_OPTIONS_H
#define SHOAL_MONITOR_OPTIONS_H
#include <stdbool.h>
#include <stddef.h>

/* A unix socket path must fit sun_path (108 bytes) with its terminating NUL. */
#define MON_SOCKET_PATH_MAX 107

struct mon_options {
  const char *runtime;            /* --runtime PATH (required) */
  const char *runtime_root;       /* --runtime-root DIR */
  const char *runtime_log;        /* --runtime-log FILE, passed to the runtime as --log */
  const char *bundle;             /* --bundle DIR (required) */
  const char *id;                 /* --id ID (required) */
  const char *exit_file;          /* --exit-file FILE (required) */
  const char *log_path;           /* --log-path FILE: CRI log; none means output is not logged */
  const char *attach_socket;      /* --attach-socket SOCK (required) */
  const char *container_pid_file; /* --container-pid-file F (default <bundle>/container.pid) */
  const char *monitor_pid_file;   /* --monitor-pid-file F: the detached monitor's own pid */
  const char *cgroup_path;        /* --cgroup-path P (default: linux.cgroupsPath of config.json) */
  const char *exec_process;       /* --exec-process FILE: run `exec` of this OCI process, not `create` */
  int create_timeout_s;           /* --create-timeout SECONDS (default 60) */
  int sync_fd;                    /* --sync-fd N (default -1: none) */
  int runtime_fd;                 /* --runtime-fd N: the runtime's executable, inherited open (-1: none) */
  bool stdin_open;                /* --stdin */
  bool stdin_once;                /* --stdin-once */
  bool tty;                       /* --tty */
};

/* Parses argv into o; paths are made absolute (the monitor changes directory to "/").
 * On error returns -1 with a message in err. */
int mon_parse_options(int argc, char **argv, struct mon_options *o, char *err, size_t errlen);
void mon_usage(void);
#endif
