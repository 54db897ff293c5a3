/* create and run: the parent side (state, cgroups, id maps, hooks in the runtime namespace) and the
 * child side (namespaces, mounts, pivot_root, then process_finish). */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "fs.h"
#include "hooks.h"
#include "intelrdt.h"
#include "ns.h"
#include "process.h"
#include "runtime.h"
#include "state.h"
#include "terminal.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct create_ctx {
  const struct sh_create_opts *o;
  json_t *spec;
  char bundle[PATH_MAX];
  char rootfs[PATH_MAX];
  char statedir[PATH_MAX];
  char cgroups_path[1024];
  struct ns_plan ns;
  struct cg_layout layout;
  int has_layout;
  struct proc_ctx proc;
  int sync[2];
  pid_t pid;
  int cgroup_made;
  int master; /* pty master relayed by `run` when there is no console socket */
  struct fs_idmaps idmaps;
  struct rdt_plan rdt;
  int rdt_applied;
};

int sh_connect_console(const char *path, struct sh_err *e) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sh_errno(e, errno, "console socket: socket");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return sh_errf(e, "console socket %s: path too long", path);
  strcpy(sa.sun_path, path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int err = errno;
    close(fd);
    return sh_errno(e, err, "console socket: connect %s", path);
  }
  return fd;
}

static char *hook_state(struct create_ctx *c, const char *status) {
  return sh_state_json(c->o->id, c->pid, status, c->bundle, json_object_get(c->spec, "annotations"), 0);
}

/* ---- child ---- */

static void child_main(struct create_ctx *c) {
  struct sh_err e = {{0}};
  int fd = c->sync[1];
  char payload[64];
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  json_t *linux_obj = json_object_get(c->spec, "linux");
  json_t *hooks = json_object_get(c->spec, "hooks");
  /* 'G' says: id maps written, moved into the cgroup. Wait for it first when what follows depends on
   * it (user namespace, cgroup namespace, hooks that need our pid); otherwise set up the mounts
   * meanwhile and wait just before the process is finished. */
  int early = c->ns.new_ns[NS_USER] || c->ns.new_ns[NS_CGROUP] || json_object_size(hooks) > 0;
  if (early) {
    if (sync_recv(fd, payload, sizeof payload, &e) != 'G') _exit(1);
    c->pid = (pid_t)atoi(payload);
  }

  if (c->ns.path[NS_USER][0] && ns_join_path(NS_USER, c->ns.path[NS_USER], &e) < 0) child_fail(fd, &e);
  if (c->ns.new_ns[NS_USER] || c->ns.path[NS_USER][0]) {
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
      sh_errno(&e, errno, "user namespace: become root (is uid/gid 0 mapped?)");
      child_fail(fd, &e);
    }
  }
  static const enum ns_kind join_order[] = {NS_IPC, NS_UTS, NS_NET, NS_CGROUP, NS_MNT};
  int unshare_flags = 0;
  for (size_t i = 0; i < sizeof join_order / sizeof join_order[0]; i++) {
    enum ns_kind k = join_order[i];
    if (c->ns.path[k][0] && ns_join_path(k, c->ns.path[k], &e) < 0) child_fail(fd, &e);
    if (c->ns.new_ns[k]) unshare_flags |= ns_flag(k);
  }
  if (unshare_flags && unshare(unshare_flags) < 0) {
    sh_errno(&e, errno, "unshare namespaces 0x%x", unshare_flags);
    child_fail(fd, &e);
  }
  if (json_array_size(json_object_get(hooks, "prestart")) || json_array_size(json_object_get(hooks, "createRuntime"))) {
    if (sync_send(fd, 'N', NULL, &e) < 0 || sync_recv(fd, NULL, 0, &e) != 'H') _exit(1);
  }
  const char *hostname = json_string_value(json_object_get(c->spec, "hostname"));
  const char *domainname = json_string_value(json_object_get(c->spec, "domainname"));
  if (hostname && *hostname && sethostname(hostname, strlen(hostname)) < 0) {
    sh_errno(&e, errno, "sethostname %s", hostname);
    child_fail(fd, &e);
  }
  if (domainname && *domainname && setdomainname(domainname, strlen(domainname)) < 0) {
    sh_errno(&e, errno, "setdomainname %s", domainname);
    child_fail(fd, &e);
  }

  struct fs_ctx fs = {.rootfs = c->rootfs, .rootfd = -1, .spec = c->spec, .cgroups_path = c->cgroups_path,
                      .layout = &c->layout, .userns = c->ns.new_ns[NS_USER] || c->ns.path[NS_USER][0],
                      .new_mntns = c->ns.new_ns[NS_MNT], .idmaps = &c->idmaps};
  if (fs_prepare_root(&fs, &e) < 0) child_fail(fd, &e);
  if (c->ns.new_ns[NS_MNT]) {
    if (fs_do_mounts(&fs, &e) < 0) child_fail(fd, &e);
    int dev_tmpfs = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(c->spec, "mounts"), i, m) {
      const char *d = json_string_value(json_object_get(m, "destination"));
      if (d && !strcmp(d, "/dev")) dev_tmpfs = 1;
    }
    if (fs_create_devices(&fs, dev_tmpfs, &e) < 0) child_fail(fd, &e);
  }
  if (json_array_size(json_object_get(hooks, "createContainer"))) {
    char *st = hook_state(c, "creating");
    if (hooks_run(c->spec, "createContainer", st, &e) < 0) child_fail(fd, &e);
    free(st);
  }
  fs_idmap_release(&c->idmaps);
  if (fs_pivot_root(&fs, &e) < 0) child_fail(fd, &e);
  if (fs_finalize(&fs, &e) < 0) child_fail(fd, &e);
  (void)linux_obj;
  if (!early) {
    if (sync_recv(fd, payload, sizeof payload, &e) != 'G') _exit(1);
    c->pid = (pid_t)atoi(payload);
  }
  if (json_array_size(json_object_get(hooks, "startContainer"))) c->proc.start_hook_state = hook_state(c, "created");
  process_finish(&c->proc);
}

/* ---- parent ---- */

static int load_spec(struct create_ctx *c, struct sh_err *e) {
  if (!realpath(c->o->bundle ? c->o->bundle : ".", c->bundle)) return sh_errno(e, errno, "bundle %s", c->o->bundle ? c->o->bundle : ".");
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/config.json", c->bundle);
  json_error_t je;
  c->spec = json_load_file(path, 0, &je);
  if (!c->spec) return sh_errf(e, "read %s: line %d: %s", path, je.line, je.text);
  json_t *process = json_object_get(c->spec, "process");
  if (!json_is_object(process)) return sh_errf(e, "%s: no process", path);
  const char *root = json_string_value(json_object_get(json_object_get(c->spec, "root"), "path"));
  if (!root) return sh_errf(e, "%s: no root.path", path);
  char rp[PATH_MAX * 2];
  snprintf(rp, sizeof rp, root[0] == '/' ? "%s" : "%2$s/%1$s", root, c->bundle);
  if (!realpath(rp, c->rootfs)) return sh_errno(e, errno, "root.path %s", rp);
  json_t *linux_obj = json_object_get(c->spec, "linux");
  if (ns_parse(json_object_get(linux_obj, "namespaces"), &c->ns, e) < 0) return -1;
  const char *cg = json_string_value(json_object_get(linux_obj, "cgroupsPath"));
  if (cg && *cg) snprintf(c->cgroups_path, sizeof c->cgroups_path, "%s", cg);
  else snprintf(c->cgroups_path, sizeof c->cgroups_path, "/shoal-runtime/%s", c->o->id);
  if (cg_path_valid(c->cgroups_path, e) < 0) return -1;
  if (caps_parse(json_object_get(process, "capabilities"), &c->proc.caps, e) < 0) return -1;
  if (proc_seccomp_prepare(&c->proc, json_object_get(linux_obj, "seccomp"), c->o->root, e) < 0) return -1;
  if (proc_attrs_parse(process, linux_obj, &c->proc.attrs, e) < 0) return -1;
  struct exec_affinity for_exec; /* not applied to the first process: checked so a bad value fails now */
  if (exec_affinity_parse(process, &for_exec, e) < 0) return -1;
  return 0;
}

/* A sysctl is written through the container's /proc/sys: allowed only when it belongs to a namespace
 * the container has to itself, otherwise it would change the host. */
static int validate_sysctl(struct create_ctx *c, struct sh_err *e) {
  static const char *const ipc_keys[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                         "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  const char *key;
  json_t *v;
  json_object_foreach(json_object_get(json_object_get(c->spec, "linux"), "sysctl"), key, v) {
    int ok = 0;
    if (!strncmp(key, "net.", 4)) ok = c->ns.new_ns[NS_NET] || c->ns.path[NS_NET][0];
    else if (!strncmp(key, "fs.mqueue.", 10)) ok = c->ns.new_ns[NS_IPC] || c->ns.path[NS_IPC][0];
    else if (!strcmp(key, "kernel.hostname") || !strcmp(key, "kernel.domainname"))
      ok = c->ns.new_ns[NS_UTS] || c->ns.path[NS_UTS][0];
    else
      for (size_t i = 0; i < sizeof ipc_keys / sizeof ipc_keys[0]; i++)
        if (!strcmp(key, ipc_keys[i])) ok = c->ns.new_ns[NS_IPC] || c->ns.path[NS_IPC][0];
    if (!ok)
      return sh_errf(e, "linux.sysctl.%s: not namespaced, or its namespace is the host's (it would change the host)", key);
  }
  return 0;
}

static int setup_state_dir(struct create_ctx *c, struct sh_err *e) {
  if (sh_mkdir_p(c->o->root, 0711, e) < 0) return -1;
  sh_state_dir(c->o->root, c->o->id, c->statedir, sizeof c->statedir);
  if (mkdir(c->statedir, 0711) < 0) {
    if (errno == EEXIST) return sh_errf(e, "create: container %s already exists (%s)", c->o->id, c->statedir);
    return sh_errno(e, errno, "create: mkdir %s", c->statedir);
  }
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/config.json", c->statedir);
  char *txt = json_dumps(c->spec, JSON_COMPACT);
  int r = sh_write_file_atomic(path, txt, strlen(txt), 0600, e);
  free(txt);
  if (r < 0) return -1;
  if (c->o->run && !c->o->detach) {
    c->proc.gate_fd = -2; /* run: nothing to wait for between set-up and exec */
  } else {
    snprintf(path, sizeof path, "%s/exec.fifo", c->statedir);
    if (mkfifo(path, 0600) < 0) return sh_errno(e, errno, "create: mkfifo %s", path);
    c->proc.gate_fd = open(path, O_RDWR | O_CLOEXEC);
    if (c->proc.gate_fd < 0) return sh_errno(e, errno, "create: open %s", path);
  }
  return 0;
}

/* Parent-side namespace steps that must precede the clone: pid and time namespaces apply to
 * children only, so the runtime enters (or creates) them itself before cloning. */
static int pre_clone_namespaces(struct create_ctx *c, struct sh_err *e) {
  if (c->ns.path[NS_PID][0] && ns_join_path(NS_PID, c->ns.path[NS_PID], e) < 0) return -1;
  if (c->ns.path[NS_TIME][0] && ns_join_path(NS_TIME, c->ns.path[NS_TIME], e) < 0) return -1;
  if (c->ns.new_ns[NS_TIME]) {
    if (unshare(CLONE_NEWTIME) < 0) return sh_errno(e, errno, "unshare time namespace");
    json_t *off = json_object_get(json_object_get(c->spec, "linux"), "timeOffsets");
    const char *clk;
    json_t *v;
    json_object_foreach(off, clk, v) {
      char line[128];
      int n = snprintf(line, sizeof line, "%s %lld %lld\n", clk, json_integer_value(json_object_get(v, "secs")),
                       json_integer_value(json_object_get(v, "nanosecs")));
      int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, line, (size_t)n) < 0) return sh_errno(e, errno, "time namespace: write offsets for %s", clk);
      close(fd);
    }
  }
  return 0;
}

static int write_pid_file(const char *path, pid_t pid, struct sh_err *e) {
  if (!path) return 0;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%d", (int)pid);
  return sh_write_file_atomic(path, buf, (size_t)n, 0644, e);
}

static void cleanup_failed(struct create_ctx *c) {
  struct sh_err ignored;
  if (c->pid > 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
  }
  if (c->cgroup_made) cg_destroy(&c->layout, c->cgroups_path, &ignored);
  if (c->rdt_applied) rdt_remove(c->spec, c->o->id, &ignored);
  if (c->statedir[0]) sh_state_remove(c->o->root, c->o->id, &ignored);
}

static pid_t forward_to;
static void forward_signal(int sig) {
  if (forward_to > 0) kill(forward_to, sig);
}

/* run: wait for the container process, then delete the container like `delete` would. */
static int run_wait(struct create_ctx *c, int *exit_code, struct sh_err *e) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  forward_to = c->pid;
  struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
  int status;
  if (c->master >= 0) {
    if (terminal_relay(c->master, c->pid, &status, e) < 0) return -1;
  } else {
    while (waitpid(c->pid, &status, 0) < 0)
      if (errno != EINTR) return sh_errno(e, errno, "run: wait for pid %d", (int)c->pid);
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  struct sh_err ignored;
  cg_destroy(&c->layout, c->cgroups_path, &ignored);
  if (rdt_remove(c->spec, c->o->id, &ignored) < 0) sh_warn("%s", ignored.msg);
  char *st = hook_state(c, "stopped");
  if (hooks_run(c->spec, "poststop", st, &ignored) < 0) sh_warn("%s", ignored.msg);
  free(st);
  sh_state_remove(c->o->root, c->o->id, &ignored);
  return 0;
}

int sh_create(const struct sh_create_opts *o, int *exit_code, struct sh_err *e) {
  struct create_ctx c;
  memset(&c, 0, sizeof c);
  c.o = o;
  c.proc.gate_fd = -1;
  c.proc.console_fd = -1;
  c.master = -1;
  c.proc.preserve_fds = o->preserve_fds;
  c.proc.mount_console = 1;
  c.sync[0] = c.sync[1] = -1;
  int r = -1;
  if (!sh_runtime_is_cli()) return sh_errf(e, "create forks: run it through the shoal-runtime command, not the library");
  if (sh_id_valid(o->id, e) < 0 || load_spec(&c, e) < 0 || validate_sysctl(&c, e) < 0) goto fail;
  c.proc.process = json_object_get(c.spec, "process");
  c.proc.spec = c.spec;
  if (cg_layout_load(&c.layout, e) < 0) goto fail;
  struct cg_plan plan;
  json_t *linux_obj = json_object_get(c.spec, "linux");
  if (cg_plan_resources(&c.layout, 0, json_object_get(linux_obj, "resources"), &plan, e) < 0 ||
      cg_plan_allow_devices(&c.layout, json_object_get(linux_obj, "resources"), json_object_get(linux_obj, "devices"), &plan, e) < 0)
    goto fail;
  if (rdt_prepare(c.spec, o->id, &c.rdt, e) < 0) goto fail;
  if (fs_idmap_prepare(c.spec, c.ns.new_ns[NS_USER] || c.ns.path[NS_USER][0], &c.idmaps, e) < 0) goto fail;
  if (setup_state_dir(&c, e) < 0) goto fail;
  if (json_is_true(json_object_get(c.proc.process, "terminal"))) {
    if (o->console_socket) {
      if ((c.proc.console_fd = sh_connect_console(o->console_socket, e)) < 0) goto fail;
    } else if (o->run && !o->detach) {
      c.proc.pty_to_parent = 1; /* run relays the pty itself */
    } else {
      sh_errf(e, "create: process.terminal needs --console-socket");
      goto fail;
    }
  }
  /* The cgroup is made and limited before the clone; only the move of the pid waits for it. */
  c.cgroup_made = 1;
  if (cg_create(&c.layout, c.cgroups_path, e) < 0 || cg_apply_plan(&c.layout, c.cgroups_path, &plan, e) < 0 ||
      cg_devices_apply(&c.layout, c.cgroups_path, json_object_get(linux_obj, "resources"), json_object_get(linux_obj, "devices"), e) < 0)
    goto fail;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c.sync) < 0) {
    sh_errno(e, errno, "create: socketpair");
    goto fail;
  }
  int own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  int own_timens = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
  if (pre_clone_namespaces(&c, e) < 0) goto fail;
  unsigned long flags = SIGCHLD;
  if (c.ns.new_ns[NS_PID]) flags |= CLONE_NEWPID;
  if (c.ns.new_ns[NS_USER]) flags |= CLONE_NEWUSER;
  fflush(NULL);
  /* On a v2-only host the child is born in its cgroup (clone3 CLONE_INTO_CGROUP): no later move,
   * which would wait for an RCU grace period on the cgroup threadgroup lock. */
  int born_in_cgroup = 0;
  if (c.layout.mode == CG_MODE_V2) {
    char dir[PATH_MAX];
    cg_dir(&c.layout, c.layout.v2, c.cgroups_path, dir, sizeof dir);
    int cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgfd >= 0) {
      struct clone_args ca = {.flags = (flags & ~0xffUL) | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (unsigned)cgfd};
      c.pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
      if (c.pid >= 0) born_in_cgroup = 1;
      else c.pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL); /* older kernel: move it later */
      if (c.pid != 0) close(cgfd);
    } else {
      c.pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    }
  } else {
    c.pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  }
  if (c.pid < 0) {
    sh_errno(e, errno, "create: clone (flags 0x%lx)", flags);
    goto fail;
  }
  if (c.pid == 0) {
    close(c.sync[0]);
    c.proc.sync_fd = c.sync[1];
    child_main(&c);
  }
  close(c.sync[1]);
  c.sync[1] = -1;
  fs_idmap_release(&c.idmaps); /* the child has its copies */
  /* Back to our own pid and time namespaces so hooks run in the runtime's namespaces. */
  if (own_pidns >= 0) {
    if (c.ns.path[NS_PID][0]) setns(own_pidns, CLONE_NEWPID);
    close(own_pidns);
  }
  if (own_timens >= 0) {
    if (c.ns.path[NS_TIME][0] || c.ns.new_ns[NS_TIME]) setns(own_timens, CLONE_NEWTIME);
    close(own_timens);
  }
  if (c.proc.console_fd >= 0) close(c.proc.console_fd);
  if (c.proc.gate_fd >= 0) close(c.proc.gate_fd);
  if (c.ns.new_ns[NS_USER] && ns_write_id_maps(c.pid, json_object_get(c.spec, "linux"), e) < 0) goto fail;
  char pidbuf[32];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)c.pid);
  c.rdt_applied = c.rdt.present;
  if ((!born_in_cgroup && cg_enter(&c.layout, c.cgroups_path, c.pid, e) < 0) || rdt_apply(&c.rdt, c.pid, e) < 0 ||
      sync_send(c.sync[0], 'G', pidbuf, e) < 0) {
    /* The child may have failed on its own meanwhile: its message says more than ours. */
    char cmsg[SH_ERRLEN];
    struct sh_err ignored;
    if (recv(c.sync[0], cmsg, 0, MSG_PEEK | MSG_DONTWAIT) >= 0 && sync_recv(c.sync[0], cmsg, sizeof cmsg, &ignored) == 'E')
      sh_errf(e, "%s", cmsg);
    goto fail;
  }
  char msg[SH_ERRLEN];
  for (;;) {
    int k = sync_recv(c.sync[0], msg, sizeof msg, e);
    if (k == 'N') {
      char *st = hook_state(&c, "creating");
      int hr = hooks_run(c.spec, "prestart", st, e);
      if (hr == 0) hr = hooks_run(c.spec, "createRuntime", st, e);
      free(st);
      if (hr < 0 || sync_send(c.sync[0], 'H', NULL, e) < 0) goto fail;
      continue;
    }
    if (k == 'T') {
      c.master = sync_take_fd();
      continue;
    }
    if (k == 'F') {
      int lfd = sync_take_fd();
      char *st = hook_state(&c, "creating");
      int sr = lfd < 0 ? sh_errf(e, "seccomp: no listener fd came with the message")
                       : seccomp_listener_send(json_object_get(linux_obj, "seccomp"), c.pid, st, lfd, e);
      free(st);
      if (lfd >= 0) close(lfd);
      if (sr < 0 || sync_send(c.sync[0], 'A', NULL, e) < 0) goto fail;
      continue;
    }
    if (k == 'R') break;
    if (k == 'E') sh_errf(e, "%s", msg);
    else if (k == 0) sh_errf(e, "create: the container process exited during setup");
    goto fail;
  }
  struct sh_state st = {.pid = c.pid, .start_time = sh_proc_start_time(c.pid), .owner = getuid(),
                        .annotations = json_object_get(c.spec, "annotations")};
  snprintf(st.id, sizeof st.id, "%s", o->id);
  snprintf(st.bundle, sizeof st.bundle, "%s", c.bundle);
  snprintf(st.rootfs, sizeof st.rootfs, "%s", c.rootfs);
  snprintf(st.cgroups_path, sizeof st.cgroups_path, "%s", c.cgroups_path);
  sh_now_rfc3339(st.created, sizeof st.created);
  if (sh_state_save(o->root, &st, e) < 0 || write_pid_file(o->pid_file, c.pid, e) < 0) goto fail;
  if (!o->run) {
    r = 0;
    goto out;
  }
  if (o->detach) {
    if (sh_start(o->root, o->id, e) < 0) goto fail;
    r = 0;
    goto out;
  }
  int k = sync_recv(c.sync[0], msg, sizeof msg, e);
  if (k == 'E') {
    sh_errf(e, "%s", msg);
    goto fail;
  }
  {
    char *hs = hook_state(&c, "running");
    struct sh_err herr;
    if (hooks_run(c.spec, "poststart", hs, &herr) < 0) sh_warn("%s", herr.msg);
    free(hs);
  }
  r = run_wait(&c, exit_code, e);
  goto out;
fail:
  cleanup_failed(&c);
out:
  fs_idmap_release(&c.idmaps);
  rdt_plan_free(&c.rdt);
  if (c.sync[0] >= 0) close(c.sync[0]);
  json_decref(c.spec);
  return r;
}
