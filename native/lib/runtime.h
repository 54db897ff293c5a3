/* The OCI runtime commands as library calls; runtime/main.c is a thin CLI over these. Each returns
 * 0 or -1 with the error in e; run/exec also give the process's exit code. */
#ifndef SHOAL_RUNTIME_H
#define SHOAL_RUNTIME_H
#include "err.h"

struct sh_create_opts {
  const char *root;
  const char *id;
  const char *bundle;
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;
  int run;    /* create + start + wait */
  int detach; /* run only: return once started */
};

struct sh_exec_opts {
  const char *root;
  const char *id;
  const char *process_file; /* --process */
  char **args;              /* or the command */
  int nargs;
  char **env;               /* --env K=V */
  int nenv;
  const char *cwd;
  const char *user;         /* uid[:gid] */
  int tty;
  int detach;
  const char *pid_file;
  const char *console_socket;
  int preserve_fds;
};

/* The shoal-runtime executable calls this first. Without it (libshoal loaded into the daemon through
 * koffi) nothing here forks or execs: create/run/exec refuse, and start/delete refuse a container
 * with poststart/poststop hooks instead of running them. kill, start and delete never print. */
void sh_runtime_set_cli(int on);
int sh_runtime_is_cli(void);

int sh_create(const struct sh_create_opts *o, int *exit_code, struct sh_err *e);
int sh_start(const char *root, const char *id, struct sh_err *e);
int sh_state(const char *root, const char *id, struct sh_err *e); /* prints the state JSON */
int sh_kill(const char *root, const char *id, const char *signal, int all, struct sh_err *e);
int sh_delete(const char *root, const char *id, int force, struct sh_err *e);
int sh_list(const char *root, int json, int quiet, struct sh_err *e);
int sh_exec(const struct sh_exec_opts *o, int *exit_code, struct sh_err *e);
/* New linux.resources (a JSON file, "-" for stdin) for the container's cgroup. */
int sh_update(const char *root, const char *id, const char *resources_file, struct sh_err *e);
int sh_features(void); /* prints the features JSON */
/* Parses "TERM", "SIGTERM" or "15"; -1 if unknown. */
int sh_signal_parse(const char *s);
#endif
