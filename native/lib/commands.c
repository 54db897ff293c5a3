/* start, state, kill, delete, list, features. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "fs.h"
#include "hooks.h"
#include "intelrdt.h"
#include "runtime.h"
#include "security.h"
#include "state.h"
#include "util.h"

static int cli_mode;
void sh_runtime_set_cli(int on) { cli_mode = on; }
int sh_runtime_is_cli(void) { return cli_mode; }

/* Hooks are processes: only the executable may start them (see runtime.h). */
static int hooks_allowed(const char *root, const char *id, const char *kind, struct sh_err *e) {
  if (cli_mode) return 0;
  struct sh_err ignored;
  json_t *spec = sh_state_config(root, id, &ignored);
  int n = spec ? (int)json_array_size(json_object_get(json_object_get(spec, "hooks"), kind)) : 0;
  json_decref(spec);
  if (n > 0) return sh_errf(e, "container %s has %s hooks, which run as processes: use the shoal-runtime command", id, kind);
  return 0;
}

int sh_start(const char *root, const char *id, struct sh_err *e) {
  if (hooks_allowed(root, id, "poststart", e) < 0) return -1;
  struct sh_state s;
  if (sh_state_load(root, id, &s, e) < 0) return -1;
  const char *status = sh_state_status(root, &s);
  if (strcmp(status, "created") != 0) {
    sh_state_free(&s);
    return sh_errf(e, "start: container %s is %s, not created", id, status);
  }
  char fifo[PATH_MAX];
  snprintf(fifo, sizeof fifo, "%s/%s/exec.fifo", root, id);
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    sh_state_free(&s);
    return sh_errno(e, errno == ENXIO ? ESRCH : errno, "start: open %s (container process gone?)", fifo);
  }
  int r = write(fd, "0", 1) == 1 ? 0 : -1;
  int err = errno;
  close(fd);
  if (r < 0) {
    sh_state_free(&s);
    return sh_errno(e, err, "start: write %s", fifo);
  }
  unlink(fifo);
  json_t *spec = sh_state_config(root, id, e);
  if (spec) {
    char *st = sh_state_json(id, s.pid, "running", s.bundle, s.annotations, 0);
    struct sh_err herr;
    if (hooks_run(spec, "poststart", st, &herr) < 0) sh_warn("%s", herr.msg);
    free(st);
    json_decref(spec);
  }
  sh_state_free(&s);
  return 0;
}

int sh_state(const char *root, const char *id, struct sh_err *e) {
  struct sh_state s;
  if (sh_state_load(root, id, &s, e) < 0) return -1;
  char *j = sh_state_json(id, s.pid, sh_state_status(root, &s), s.bundle, s.annotations, 1);
  printf("%s\n", j);
  free(j);
  sh_state_free(&s);
  return 0;
}

static const struct {
  const char *name;
  int sig;
} sigtab[] = {{"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
              {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
              {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
              {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
              {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
              {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
              {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS}};

int sh_signal_parse(const char *s) {
  if (!s || !*s) return SIGTERM;
  char *end;
  long n = strtol(s, &end, 10);
  if (!*end) return n > 0 && n < NSIG ? (int)n : -1;
  if (!strncasecmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof sigtab / sizeof sigtab[0]; i++)
    if (!strcasecmp(s, sigtab[i].name)) return sigtab[i].sig;
  if (!strncasecmp(s, "RTMIN", 5)) {
    int off = s[5] == '+' ? atoi(s + 6) : 0;
    return SIGRTMIN + off <= SIGRTMAX ? SIGRTMIN + off : -1;
  }
  if (!strncasecmp(s, "RTMAX", 5)) {
    int off = s[5] == '-' ? atoi(s + 6) : 0;
    return SIGRTMAX - off >= SIGRTMIN ? SIGRTMAX - off : -1;
  }
  return -1;
}

int sh_kill(const char *root, const char *id, const char *signal, int all, struct sh_err *e) {
  int sig = sh_signal_parse(signal);
  if (sig < 0) return sh_errf(e, "kill: unknown signal %s", signal);
  struct sh_state s;
  if (sh_state_load(root, id, &s, e) < 0) return -1;
  const char *status = sh_state_status(root, &s);
  int r = 0;
  if (all) {
    struct cg_layout l;
    r = cg_layout_load(&l, e) < 0 ? -1 : cg_signal_all(&l, s.cgroups_path, sig, e);
  } else if (!strcmp(status, "stopped")) {
    r = sh_errf(e, "kill: container %s is not running", id);
  } else if (kill(s.pid, sig) < 0) {
    r = sh_errno(e, errno, "kill: signal %d to container %s (pid %d)", sig, id, (int)s.pid);
  }
  sh_state_free(&s);
  return r;
}

/* Waits up to budget_ms for the container process to exit (zombie or reaped): woken by its pidfd,
 * which becomes readable when it exits, rather than by polling /proc. */
static void wait_stopped(const char *root, const struct sh_state *s, int budget_ms) {
  int pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
  if (pidfd < 0 && errno == ESRCH) return; /* already reaped */
  /* The pid may have been reused between the state check and pidfd_open: the start time, read after
   * the pidfd pins the process, says whether it is still ours. */
  int r = 0;
  if (pidfd >= 0 && strcmp(sh_state_status(root, s), "stopped") != 0) {
    struct pollfd p = {pidfd, POLLIN, 0};
    while ((r = poll(&p, 1, budget_ms)) < 0 && errno == EINTR) {
    }
  }
  if (pidfd < 0 || r < 0) {
    /* No pidfd (kernel before 5.3) or poll failed: look at /proc until it says stopped. */
    sh_warn("delete: waiting for pid %d by polling /proc (%s)", (int)s->pid, strerror(errno));
    struct sh_backoff b = {0};
    while (strcmp(sh_state_status(root, s), "stopped") != 0 && sh_backoff_wait(&b, budget_ms) == 0) {
    }
  }
  if (pidfd >= 0) close(pidfd);
}

int sh_delete(const char *root, const char *id, int force, struct sh_err *e) {
  struct sh_state s;
  char dir[PATH_MAX];
  if (sh_id_valid(id, e) < 0 || hooks_allowed(root, id, "poststop", e) < 0) return -1;
  sh_state_dir(root, id, dir, sizeof dir);
  if (sh_state_load(root, id, &s, e) < 0) {
    /* A create that died half way leaves a directory without state: remove it. */
    if (access(dir, F_OK) == 0) return sh_state_remove(root, id, e);
    return force ? 0 : -1;
  }
  const char *status = sh_state_status(root, &s);
  if (!strcmp(status, "running") && !force) {
    sh_state_free(&s);
    return sh_errf(e, "delete: container %s is running (use --force)", id);
  }
  if (strcmp(status, "stopped") != 0) kill(s.pid, SIGKILL);
  struct cg_layout l;
  int r = 0;
  if (cg_layout_load(&l, e) < 0 || cg_destroy(&l, s.cgroups_path, e) < 0) r = -1;
  /* The container process may still be on its way out; wait briefly until it is gone from its
   * namespaces so poststop hooks see it stopped. */
  if (strcmp(status, "stopped") != 0) wait_stopped(root, &s, 200);
  json_t *spec = sh_state_config(root, id, e);
  if (spec && rdt_remove(spec, id, e) < 0) r = -1;
  if (spec) {
    char *st = sh_state_json(id, s.pid, "stopped", s.bundle, s.annotations, 0);
    struct sh_err herr;
    if (hooks_run(spec, "poststop", st, &herr) < 0) sh_warn("%s", herr.msg);
    free(st);
    json_decref(spec);
  }
  if (r == 0 && sh_state_remove(root, id, e) < 0) r = -1;
  sh_state_free(&s);
  return r;
}

int sh_list(const char *root, int as_json, int quiet, struct sh_err *e) {
  DIR *d = opendir(root);
  json_t *arr = json_array();
  if (!d && errno != ENOENT) {
    json_decref(arr);
    return sh_errno(e, errno, "list: open %s", root);
  }
  if (!as_json && !quiet) printf("%-24s %-8s %-8s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    struct sh_state s;
    struct sh_err ignored;
    if (sh_state_load(root, de->d_name, &s, &ignored) < 0) continue;
    const char *status = sh_state_status(root, &s);
    int pid = strcmp(status, "stopped") ? (int)s.pid : 0;
    if (as_json)
      json_array_append_new(arr, json_pack("{s:s,s:i,s:s,s:s,s:s,s:i}", "id", s.id, "pid", pid, "status", status, "bundle",
                                           s.bundle, "created", s.created, "owner", (int)s.owner));
    else if (quiet) printf("%s\n", s.id);
    else printf("%-24s %-8d %-8s %-40s %-32s %d\n", s.id, pid, status, s.bundle, s.created, (int)s.owner);
    sh_state_free(&s);
  }
  if (d) closedir(d);
  if (as_json) {
    char *j = json_dumps(arr, JSON_COMPACT);
    printf("%s\n", j);
    free(j);
  }
  json_decref(arr);
  return 0;
}

int sh_features(void) {
  json_t *f = json_pack("{s:s,s:s,s:[s,s,s],s:[s,s,s,s,s,s]}", "ociVersionMin", "1.0.0", "ociVersionMax", SH_OCI_VERSION,
                        "hooks", "prestart", "createRuntime", "createContainer", "mountOptions", "", "", "", "", "", "");
  json_t *hooks = json_pack("[ssssss]", "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop");
  json_object_set_new(f, "hooks", hooks);
  json_object_set_new(f, "mountOptions", fs_mount_options_json());
  struct cg_layout l;
  struct sh_err ignored;
  int have = cg_layout_load(&l, &ignored) == 0;
  json_t *linux_obj = json_pack(
      "{s:[ssssssss],s:o,s:{s:b,s:b,s:b,s:b,s:b},s:o,s:{s:b},s:{s:b},s:{s:b,s:b,s:b},s:{s:{s:b}},"
      "s:{s:[sssssss],s:[sss]}}",
      "namespaces", "cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time", "capabilities", caps_all_json(),
      "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0, "seccomp", seccomp_features_json(),
      "apparmor", "enabled", 0, "selinux", "enabled", 0, "intelRdt", "enabled", 1, "schemata", 1, "monitoring", 1,
      "mountExtensions", "idmap", "enabled", 1, "memoryPolicy", "modes", "MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE",
      "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL", "flags", "MPOL_F_NUMA_BALANCING",
      "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES");
  json_object_set_new(f, "linux", linux_obj);
  json_t *ann = json_object();
  json_object_set_new(ann, "org.shoal.runtime.cgroup.layout",
                      json_string(!have ? "none" : l.mode == CG_MODE_V1 ? "v1" : l.mode == CG_MODE_V2 ? "v2" : "hybrid"));
  json_object_set_new(ann, "org.shoal.runtime.cgroup.v2.devices",
                      json_string("enforced with an eBPF device program (BPF_PROG_TYPE_CGROUP_DEVICE), replaced on update; v1: devices controller"));
  json_object_set_new(ann, "org.shoal.runtime.process",
                      json_string("ioPriority, scheduler (sched_setattr), linux.personality and linux.memoryPolicy applied to every process, exec included; execCPUAffinity for exec"));
  json_object_set_new(ann, "org.shoal.runtime.self-protection", json_string("re-exec from a sealed memfd; non-dumpable during setup"));
  json_object_set_new(f, "annotations", ann);
  char *s = json_dumps(f, JSON_INDENT(2));
  printf("%s\n", s);
  free(s);
  json_decref(f);
  return 0;
}
