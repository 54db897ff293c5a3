#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void mon_usage(void) {
  static const char text[] =
      "usage: shoal-monitor --runtime PATH [--runtime-root DIR] [--runtime-log FILE]\n"
      "         (--bundle DIR | --exec-process FILE) --id ID --exit-file FILE --attach-socket SOCK\n"
      "         [--log-path FILE] [--container-pid-file FILE] [--monitor-pid-file FILE]\n"
      "         [--cgroup-path PATH] [--create-timeout SECONDS] [--sync-fd N] [--runtime-fd N]\n"
      "         [--stdin] [--stdin-once] [--tty]\n";
  (void)!write(STDERR_FILENO, text, sizeof text - 1);
}

/* Relative paths are resolved against the cwd now, since the detached monitor runs in "/". */
static const char *absolute(const char *p, char *err, size_t errlen) {
  if (p == NULL || p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL) {
    snprintf(err, errlen, "resolving %s: getcwd: %s", p, strerror(errno));
    return NULL;
  }
  size_t n = strlen(cwd) + 1 + strlen(p) + 1;
  char *out = malloc(n);
  if (out == NULL) {
    snprintf(err, errlen, "resolving %s: out of memory", p);
    return NULL;
  }
  snprintf(out, n, "%s/%s", cwd, p);
  return out;
}

static int parse_int(const char *flag, const char *s, int min, int *out, char *err, size_t errlen) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v < min || v > INT_MAX) {
    snprintf(err, errlen, "%s: invalid number %s", flag, s);
    return -1;
  }
  *out = (int)v;
  return 0;
}

struct path_flag {
  const char *name;
  const char **slot;
};

int mon_parse_options(int argc, char **argv, struct mon_options *o, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  o->sync_fd = -1;
  o->runtime_fd = -1;
  o->create_timeout_s = 60;
  const struct path_flag paths[] = {
      {"--runtime", &o->runtime},
      {"--runtime-root", &o->runtime_root},
      {"--runtime-log", &o->runtime_log},
      {"--bundle", &o->bundle},
      {"--id", &o->id},
      {"--exit-file", &o->exit_file},
      {"--log-path", &o->log_path},
      {"--attach-socket", &o->attach_socket},
      {"--container-pid-file", &o->container_pid_file},
      {"--monitor-pid-file", &o->monitor_pid_file},
      {"--cgroup-path", &o->cgroup_path},
      {"--exec-process", &o->exec_process},
  };
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--stdin") == 0) {
      o->stdin_open = true;
      continue;
    }
    if (strcmp(a, "--stdin-once") == 0) {
      o->stdin_once = true;
      continue;
    }
    if (strcmp(a, "--tty") == 0) {
      o->tty = true;
      continue;
    }
    if (i + 1 >= argc) {
      snprintf(err, errlen, "%s: missing value or unknown flag", a);
      return -1;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--sync-fd") == 0) {
      if (parse_int(a, v, 0, &o->sync_fd, err, errlen) < 0) return -1;
      continue;
    }
    if (strcmp(a, "--runtime-fd") == 0) {
      if (parse_int(a, v, 3, &o->runtime_fd, err, errlen) < 0) return -1;
      continue;
    }
    if (strcmp(a, "--create-timeout") == 0) {
      if (parse_int(a, v, 1, &o->create_timeout_s, err, errlen) < 0) return -1;
      continue;
    }
    bool known = false;
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
      if (strcmp(a, paths[k].name) == 0) {
        *paths[k].slot = v;
        known = true;
        break;
      }
    }
    if (!known) {
      snprintf(err, errlen, "%s: unknown flag", a);
      return -1;
    }
  }
  struct {
    const char *name;
    const char *value;
  } required[] = {{"--runtime", o->runtime},
                  {o->exec_process ? "--exec-process" : "--bundle", o->exec_process ? o->exec_process : o->bundle},
                  {"--id", o->id},
                  {"--exit-file", o->exit_file},
                  {"--attach-socket", o->attach_socket}};
  for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) {
    if (required[k].value == NULL || required[k].value[0] == '\0') {
      snprintf(err, errlen, "%s is required", required[k].name);
      return -1;
    }
  }
  if (o->id[0] == '-' || strchr(o->id, '/') != NULL) {
    snprintf(err, errlen, "--id %s: must not start with '-' or contain '/'", o->id);
    return -1;
  }
  if (o->stdin_once && !o->stdin_open) {
    snprintf(err, errlen, "--stdin-once needs --stdin");
    return -1;
  }
  for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
    if (paths[k].slot == &o->id || paths[k].slot == &o->cgroup_path || paths[k].slot == &o->runtime) continue;
    if (*paths[k].slot == NULL) continue;
    const char *abs = absolute(*paths[k].slot, err, errlen);
    if (abs == NULL) return -1;
    *paths[k].slot = abs;
  }
  if (o->runtime[0] != '/' && strchr(o->runtime, '/') != NULL) {
    const char *abs = absolute(o->runtime, err, errlen);
    if (abs == NULL) return -1;
    o->runtime = abs;
  }
  if (o->container_pid_file == NULL) {
    /* create: next to config.json; exec: next to the exit file (the bundle is not ours to write). */
    const char *base = o->exec_process ? o->exit_file : o->bundle;
    const char *suffix = o->exec_process ? ".pid" : "/container.pid";
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    snprintf(p, n, "%s%s", base, suffix);
    o->container_pid_file = p;
  }
  /* The console socket lives next to the attach socket with a 6-byte longer name. */
  size_t limit = o->tty ? MON_SOCKET_PATH_MAX - 6 : MON_SOCKET_PATH_MAX;
  if (strlen(o->attach_socket) > limit) {
    snprintf(err, errlen, "--attach-socket %s: path is %zu bytes, at most %zu fit a unix socket address%s",
             o->attach_socket, strlen(o->attach_socket), limit, o->tty ? " (with --tty)" : "");
    return -1;
  }
  return 0;
}
