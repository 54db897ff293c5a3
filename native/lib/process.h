/* The last steps before execve, shared by a container's first process and `exec`: terminal,
 * rlimits, oom score, the start gate, user, cwd check, fd cleanup, no_new_privs, seccomp,
 * capabilities (last), exec. */
#ifndef SHOAL_PROCESS_H
#define SHOAL_PROCESS_H
#include <jansson.h>
#include <seccomp.h>

#include "procattr.h"
#include "security.h"

struct proc_ctx {
  json_t *process;       /* OCI process object */
  json_t *spec;          /* whole config (hooks) */
  int sync_fd;           /* seqpacket to the parent runtime */
  int console_fd;        /* --console-socket connection or -1 */
  int pty_to_parent;     /* no console socket: send the pty master to the runtime (run, exec) */
  int mount_console;     /* bind the pty on /dev/console */
  int preserve_fds;
  int gate_fd;           /* exec.fifo opened O_RDWR (create), -1: wait for "S" on sync_fd (run),
                            -2: no gate (exec) */
  const char *start_hook_state; /* state JSON for startContainer hooks, NULL to skip them */
  struct caps_set caps;
  scmp_filter_ctx seccomp; /* with a notification listener only (seccomp_notify.c) */
  struct seccomp_prog seccomp_prog; /* otherwise: the compiled filter (seccomp_prog.c) */
  int seccomp_notify;    /* the filter has SCMP_ACT_NOTIFY rules: loaded before 'R' (seccomp_notify.c) */
  int seccomp_wait_killable; /* linux.seccomp.flags has SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV */
  struct proc_attrs attrs; /* personality, memory policy, I/O priority, scheduler */
};

/* linux.seccomp's listenerPath/listenerMetadata rules; *uses_notify when a rule is SCMP_ACT_NOTIFY,
 * *wait_killable when the flags ask for SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (refused without a
 * SCMP_ACT_NOTIFY rule: the kernel takes it only with a listener). */
int seccomp_notify_check(json_t *seccomp, int *uses_notify, int *wait_killable, struct sh_err *e);
/* In the parent: the filter of linux.seccomp, as libseccomp's context when it has a listener,
 * otherwise as a compiled program (cached under root). */
int proc_seccomp_prepare(struct proc_ctx *p, json_t *seccomp, const char *root, struct sh_err *e);
/* In the process: no_new_privs (if asked), load the filter with a listener, send its fd to the
 * runtime as an 'F' message and wait for the runtime's 'A'. */
int seccomp_load_notify(struct proc_ctx *p, struct sh_err *e);
/* In the runtime: the container process state and the listener fd to linux.seccomp.listenerPath. */
int seccomp_listener_send(json_t *seccomp, pid_t pid, const char *state_json, int fd, struct sh_err *e);
/* Never returns: execs the process, or reports the error on sync_fd and _exits. */
void process_finish(struct proc_ctx *p) __attribute__((noreturn));
/* Reports an error to the parent over the sync socket and exits. */
void child_fail(int sync_fd, const struct sh_err *e) __attribute__((noreturn));
/* Sync messages: one byte kind + optional payload. */
int sync_send(int fd, char kind, const char *payload, struct sh_err *e);
/* Waits for a message; returns its kind, 0 on EOF (the child exec'd or died), -1 on error.
 * Payload (may be NULL) gets the rest. An 'E' message's payload is the child's error line. */
int sync_recv(int fd, char *payload, size_t len, struct sh_err *e);
/* The descriptor that came with the last message received, if any (-1 otherwise). */
int sync_take_fd(void);
#endif
