/* exec: a new process in a running container — all its namespaces joined through /proc/PID/ns, moved
 * into its cgroup before it runs anything, with the process's own security context. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "ns.h"
#include "process.h"
#include "runtime.h"
#include "state.h"
#include "terminal.h"
#include "util.h"

int sh_connect_console(const char *path, struct sh_err *e);

struct exec_ctx {
  int nsfd[NS_COUNT]; /* -1 when the container shares ours */
  struct proc_ctx proc;
  struct exec_affinity affinity;
};

static json_t *build_process(const struct sh_exec_opts *o, json_t *spec, struct sh_err *e) {
  json_t *p;
  if (o->process_file) {
    json_error_t je;
    p = json_load_file(o->process_file, 0, &je);
    if (!p) sh_errf(e, "exec: read --process %s: line %d: %s", o->process_file, je.line, je.text);
    return p;
  }
  p = json_deep_copy(json_object_get(spec, "process"));
  if (!p) p = json_object();
  json_t *args = json_array();
  for (int i = 0; i < o->nargs; i++) json_array_append_new(args, json_string(o->args[i]));
  json_object_set_new(p, "args", args);
  json_object_set_new(p, "terminal", json_boolean(o->tty));
  json_t *env = json_object_get(p, "env");
  if (!env) json_object_set_new(p, "env", env = json_array());
  for (int i = 0; i < o->nenv; i++) json_array_append_new(env, json_string(o->env[i]));
  if (o->cwd) json_object_set_new(p, "cwd", json_string(o->cwd));
  if (o->user) {
    unsigned uid = 0, gid = 0;
    int n = sscanf(o->user, "%u:%u", &uid, &gid);
    if (n < 1) {
      json_decref(p);
      sh_errf(e, "exec: --user %s: expected uid[:gid]", o->user);
      return NULL;
    }
    json_object_set_new(p, "user", json_pack("{s:i,s:i}", "uid", (int)uid, "gid", n == 2 ? (int)gid : 0));
  }
  return p;
}

static int open_namespaces(struct exec_ctx *x, pid_t pid, struct sh_err *e) {
  for (int k = 0; k < NS_COUNT; k++) {
    char theirs[64], ours[64];
    snprintf(theirs, sizeof theirs, "/proc/%d/ns/%s", (int)pid, ns_proc_name[k]);
    snprintf(ours, sizeof ours, "/proc/self/ns/%s", ns_proc_name[k]);
    struct stat a, b;
    x->nsfd[k] = -1;
    if (stat(theirs, &a) < 0) {
      if (errno == ENOENT) continue;
      return sh_errno(e, errno, "exec: stat %s", theirs);
    }
    if (stat(ours, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) continue;
    x->nsfd[k] = open(theirs, O_RDONLY | O_CLOEXEC);
    if (x->nsfd[k] < 0) return sh_errno(e, errno, "exec: open %s", theirs);
  }
  return 0;
}

static void exec_child(struct exec_ctx *x) {
  struct sh_err e = {{0}};
  int fd = x->proc.sync_fd;
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (sync_recv(fd, NULL, 0, &e) != 'G') _exit(1);
  /* In the container's cgroup now (a cpuset there may have reset the affinity). */
  if (x->affinity.has_final && exec_affinity_set(&x->affinity.final, "final", &e) < 0) child_fail(fd, &e);
  static const enum ns_kind order[] = {NS_USER, NS_IPC, NS_UTS, NS_NET, NS_CGROUP, NS_MNT};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    enum ns_kind k = order[i];
    if (x->nsfd[k] < 0) continue;
    if (setns(x->nsfd[k], ns_flag(k)) < 0) {
      sh_errno(&e, errno, "exec: join the container's %s namespace", ns_proc_name[k]);
      child_fail(fd, &e);
    }
    close(x->nsfd[k]);
  }
  process_finish(&x->proc);
}

int sh_exec(const struct sh_exec_opts *o, int *exit_code, struct sh_err *e) {
  struct sh_state s;
  struct exec_ctx x;
  memset(&x, 0, sizeof x);
  for (int k = 0; k < NS_COUNT; k++) x.nsfd[k] = -1;
  x.proc.console_fd = -1;
  x.proc.gate_fd = -2;
  x.proc.preserve_fds = o->preserve_fds;
  int sync[2] = {-1, -1}, r = -1;
  pid_t pid = -1;
  json_t *spec = NULL;
  if (!sh_runtime_is_cli()) return sh_errf(e, "exec forks: run it through the shoal-runtime command, not the library");
  if (sh_state_load(o->root, o->id, &s, e) < 0) return -1;
  const char *status = sh_state_status(o->root, &s);
  if (!strcmp(status, "stopped")) {
    sh_errf(e, "exec: container %s is stopped", o->id);
    goto out;
  }
  if (!(spec = sh_state_config(o->root, o->id, e))) goto out;
  if (!(x.proc.process = build_process(o, spec, e))) goto out;
  x.proc.spec = spec;
  if (json_array_size(json_object_get(x.proc.process, "args")) == 0) {
    sh_errf(e, "exec: no command given");
    goto out;
  }
  if (caps_parse(json_object_get(x.proc.process, "capabilities"), &x.proc.caps, e) < 0) goto out;
  if (proc_seccomp_prepare(&x.proc, json_object_get(json_object_get(spec, "linux"), "seccomp"), o->root, e) < 0) goto out;
  if (proc_attrs_parse(x.proc.process, json_object_get(spec, "linux"), &x.proc.attrs, e) < 0) goto out;
  if (exec_affinity_parse(x.proc.process, &x.affinity, e) < 0) goto out;
  if (open_namespaces(&x, s.pid, e) < 0) goto out;
  if (json_is_true(json_object_get(x.proc.process, "terminal"))) {
    if (o->console_socket) {
      if ((x.proc.console_fd = sh_connect_console(o->console_socket, e)) < 0) goto out;
    } else if (!o->detach) {
      x.proc.pty_to_parent = 1; /* exec relays the pty itself */
    } else {
      sh_errf(e, "exec: --tty --detach needs --console-socket");
      goto out;
    }
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
    sh_errno(e, errno, "exec: socketpair");
    goto out;
  }
  /* pid and time namespaces take effect for children: enter them before forking. */
  if (x.nsfd[NS_PID] >= 0 && setns(x.nsfd[NS_PID], CLONE_NEWPID) < 0) {
    sh_errno(e, errno, "exec: join the container's pid namespace");
    goto out;
  }
  if (x.nsfd[NS_TIME] >= 0 && setns(x.nsfd[NS_TIME], 0) < 0) {
    sh_errno(e, errno, "exec: join the container's time namespace");
    goto out;
  }
  /* The runtime itself runs on `initial` from here, so the forked process starts there. */
  if (x.affinity.has_initial && exec_affinity_set(&x.affinity.initial, "initial", e) < 0) goto out;
  fflush(NULL);
  pid = fork();
  if (pid < 0) {
    sh_errno(e, errno, "exec: fork");
    goto out;
  }
  if (pid == 0) {
    close(sync[0]);
    x.proc.sync_fd = sync[1];
    exec_child(&x);
  }
  close(sync[1]);
  sync[1] = -1;
  if (x.proc.console_fd >= 0) close(x.proc.console_fd);
  struct cg_layout l;
  if (cg_layout_load(&l, e) < 0 || cg_enter(&l, s.cgroups_path, pid, e) < 0) goto kill_out;
  if (sync_send(sync[0], 'G', NULL, e) < 0) goto kill_out;
  char msg[SH_ERRLEN];
  int k, master = -1;
  while ((k = sync_recv(sync[0], msg, sizeof msg, e)) == 'T' || k == 'R' || k == 'F') {
    if (k == 'T') master = sync_take_fd();
    if (k == 'F') {
      int lfd = sync_take_fd();
      char *st = sh_state_json(o->id, s.pid, "running", s.bundle, s.annotations, 0);
      int sr = lfd < 0 ? sh_errf(e, "seccomp: no listener fd came with the message")
                       : seccomp_listener_send(json_object_get(json_object_get(spec, "linux"), "seccomp"), pid, st, lfd, e);
      free(st);
      if (lfd >= 0) close(lfd);
      if (sr < 0 || sync_send(sync[0], 'A', NULL, e) < 0) goto kill_out;
    }
  }
  if (k == 'E') {
    sh_errf(e, "%s", msg);
    goto kill_out;
  }
  if (k != 0) {
    if (k > 0) sh_errf(e, "exec: unexpected message from the process");
    goto kill_out;
  }
  if (o->pid_file) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    if (sh_write_file_atomic(o->pid_file, buf, (size_t)n, 0644, e) < 0) goto kill_out;
  }
  if (o->detach) {
    r = 0;
    goto out;
  }
  int st;
  if (master >= 0) {
    int rr = terminal_relay(master, pid, &st, e);
    close(master);
    if (rr < 0) goto out;
  } else {
    while (waitpid(pid, &st, 0) < 0)
      if (errno != EINTR) {
        sh_errno(e, errno, "exec: wait for pid %d", (int)pid);
        goto out;
      }
  }
  *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r = 0;
  goto out;
kill_out:
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
out:
  for (int i = 0; i < NS_COUNT; i++)
    if (x.nsfd[i] >= 0) close(x.nsfd[i]);
  if (sync[0] >= 0) close(sync[0]);
  if (sync[1] >= 0) close(sync[1]);
  json_decref(x.proc.process);
  json_decref(spec);
  sh_state_free(&s);
  return r;
}
