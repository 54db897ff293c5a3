/* shoal-runtime: the OCI runtime command line over libshoal (lib/runtime.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "runtime.h"
#include "selfexec.h"
#include "state.h"

#ifndef SHOAL_VERSION
#define SHOAL_VERSION "0.1.0"
#endif

static const char usage[] =
    "usage: shoal-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [OPTIONS] ID\n"
    "commands: create run start state kill delete exec update list features --version\n";

/* Matches "--name", "-n" (short) or "--name=value"; takes the value from the next arg if needed. */
struct args {
  int argc;
  char **argv;
  int i;
};

static int flag(struct args *a, const char *lng, const char *shrt, const char **value) {
  const char *cur = a->argv[a->i];
  size_t n = strlen(lng);
  if (value) {
    if (!strncmp(cur, lng, n) && cur[n] == '=') {
      *value = cur + n + 1;
      return 1;
    }
    if (!strcmp(cur, lng) || (shrt && !strcmp(cur, shrt)) || (cur[0] == '-' && cur[1] != '-' && !strcmp(cur + 1, lng + 2))) {
      if (a->i + 1 >= a->argc) {
        fprintf(stderr, "shoal-runtime: option %s needs a value\n", lng);
        exit(2);
      }
      *value = a->argv[++a->i];
      return 1;
    }
    return 0;
  }
  return !strcmp(cur, lng) || (shrt && !strcmp(cur, shrt)) || (cur[0] == '-' && cur[1] != '-' && !strcmp(cur + 1, lng + 2));
}

static void die(const struct sh_err *e) {
  sh_log_error(e->msg);
  exit(1);
}

static void print_warning(const char *msg) { (void)msg; }

int main(int argc, char **argv) {
  struct args a = {argc, argv, 1};
  sh_runtime_set_cli(1);
  const char *root = SH_DEFAULT_ROOT, *log = NULL, *log_format = "text", *v;
  for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
    if (flag(&a, "--root", NULL, &root) || flag(&a, "--log", NULL, &log) || flag(&a, "--log-format", NULL, &log_format) ||
        flag(&a, "--criu", NULL, &v) || flag(&a, "--debug", NULL, NULL) || flag(&a, "--rootless", NULL, &v))
      continue;
    if (flag(&a, "--systemd-cgroup", NULL, NULL)) {
      fprintf(stderr, "shoal-runtime: --systemd-cgroup: only the cgroupfs driver is supported\n");
      return 1;
    }
    if (flag(&a, "--version", "-v", NULL)) {
      printf("shoal-runtime version %s\nspec: %s\n", SHOAL_VERSION, SH_OCI_VERSION);
      return 0;
    }
    if (flag(&a, "--help", "-h", NULL)) {
      fputs(usage, stdout);
      return 0;
    }
    fprintf(stderr, "shoal-runtime: unknown global option %s\n", argv[a.i]);
    return 2;
  }
  sh_log_open(log, !strcmp(log_format, "json") ? SH_LOG_JSON : SH_LOG_TEXT);
  sh_log_set_warn_hook(print_warning);
  if (a.i >= argc) {
    fputs(usage, stderr);
    return 2;
  }
  const char *cmd = argv[a.i++];
  struct sh_err e = {{0}};

  if (!strcmp(cmd, "create") || !strcmp(cmd, "run")) {
    struct sh_create_opts o = {.root = root, .run = !strcmp(cmd, "run")};
    const char *pf = NULL;
    for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
      if (flag(&a, "--bundle", "-b", &o.bundle) || flag(&a, "--pid-file", NULL, &o.pid_file) ||
          flag(&a, "--console-socket", NULL, &o.console_socket) || flag(&a, "--no-pivot", NULL, NULL) ||
          flag(&a, "--no-new-keyring", NULL, NULL) || flag(&a, "--keep", NULL, NULL))
        continue;
      if (flag(&a, "--preserve-fds", NULL, &pf)) {
        o.preserve_fds = atoi(pf);
        continue;
      }
      if (o.run && flag(&a, "--detach", "-d", NULL)) {
        o.detach = 1;
        continue;
      }
      fprintf(stderr, "shoal-runtime: %s: unknown option %s\n", cmd, argv[a.i]);
      return 2;
    }
    if (a.i >= argc) {
      fprintf(stderr, "shoal-runtime: %s: container id required\n", cmd);
      return 2;
    }
    o.id = argv[a.i];
    if (sh_reexec_sealed(argv, &e) < 0) die(&e);
    int code = 0;
    if (sh_create(&o, &code, &e) < 0) die(&e);
    return code;
  }
  if (!strcmp(cmd, "exec")) {
    struct sh_exec_opts o = {.root = root};
    char *env[256];
    const char *pf = NULL;
    for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
      const char *val;
      if (flag(&a, "--process", "-p", &o.process_file) || flag(&a, "--pid-file", NULL, &o.pid_file) ||
          flag(&a, "--console-socket", NULL, &o.console_socket) || flag(&a, "--cwd", NULL, &o.cwd) ||
          flag(&a, "--user", "-u", &o.user))
        continue;
      if (flag(&a, "--preserve-fds", NULL, &pf)) {
        o.preserve_fds = atoi(pf);
        continue;
      }
      if (flag(&a, "--env", "-e", &val)) {
        if (o.nenv < 256) env[o.nenv++] = (char *)val;
        continue;
      }
      if (flag(&a, "--tty", "-t", NULL)) {
        o.tty = 1;
        continue;
      }
      if (flag(&a, "--detach", "-d", NULL)) {
        o.detach = 1;
        continue;
      }
      if (flag(&a, "--no-new-privs", NULL, NULL)) continue;
      fprintf(stderr, "shoal-runtime: exec: unknown option %s\n", argv[a.i]);
      return 2;
    }
    if (a.i >= argc) {
      fprintf(stderr, "shoal-runtime: exec: container id required\n");
      return 2;
    }
    o.id = argv[a.i++];
    o.args = argv + a.i;
    o.nargs = argc - a.i;
    o.env = env;
    if (!o.process_file && o.nargs == 0) {
      fprintf(stderr, "shoal-runtime: exec: give --process FILE or a command\n");
      return 2;
    }
    if (sh_reexec_sealed(argv, &e) < 0) die(&e);
    int code = 0;
    if (sh_exec(&o, &code, &e) < 0) die(&e);
    return code;
  }
  if (!strcmp(cmd, "list")) {
    const char *format = "table";
    int quiet = 0;
    for (; a.i < argc && argv[a.i][0] == '-'; a.i++) {
      if (flag(&a, "--format", "-f", &format)) continue;
      if (flag(&a, "--quiet", "-q", NULL)) {
        quiet = 1;
        continue;
      }
      fprintf(stderr, "shoal-runtime: list: unknown option %s\n", argv[a.i]);
      return 2;
    }
    if (sh_list(root, !strcmp(format, "json"), quiet, &e) < 0) die(&e);
    return 0;
  }
  if (!strcmp(cmd, "features")) return sh_features();
  if (!strcmp(cmd, "version")) {
    printf("shoal-runtime version %s\nspec: %s\n", SHOAL_VERSION, SH_OCI_VERSION);
    return 0;
  }

  int force = 0, all = 0;
  const char *resources = NULL;
  for (; a.i < argc && argv[a.i][0] == '-' && argv[a.i][1]; a.i++) {
    if (!strcmp(cmd, "delete") && flag(&a, "--force", "-f", NULL)) force = 1;
    else if (!strcmp(cmd, "update") && flag(&a, "--resources", "-r", &resources)) continue;
    else if (!strcmp(cmd, "kill") && flag(&a, "--all", "-a", NULL)) all = 1;
    else {
      fprintf(stderr, "shoal-runtime: %s: unknown option %s\n", cmd, argv[a.i]);
      return 2;
    }
  }
  if (a.i >= argc) {
    fprintf(stderr, "shoal-runtime: %s: container id required\n", cmd);
    return 2;
  }
  const char *id = argv[a.i++];
  int r;
  if (!strcmp(cmd, "start")) r = sh_start(root, id, &e);
  else if (!strcmp(cmd, "state")) r = sh_state(root, id, &e);
  else if (!strcmp(cmd, "kill")) r = sh_kill(root, id, a.i < argc ? argv[a.i] : "SIGTERM", all, &e);
  else if (!strcmp(cmd, "delete")) r = sh_delete(root, id, force, &e);
  else if (!strcmp(cmd, "update")) {
    if (!resources) {
      fprintf(stderr, "shoal-runtime: update: --resources FILE (or -) is required\n");
      return 2;
    }
    r = sh_update(root, id, resources, &e);
  } else {
    fprintf(stderr, "shoal-runtime: unknown command %s\n%s", cmd, usage);
    return 2;
  }
  if (r < 0) die(&e);
  return 0;
}
