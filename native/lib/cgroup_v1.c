/* cgroup v1 specifics: per-controller hierarchies, cpuset inheritance, killing by pid list. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

/* A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks until they are set: copy the
 * parent's values down every level we create. */
static int cpuset_inherit(const char *parent, const char *dir, struct sh_err *e) {
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int k = 0; k < 2; k++) {
    char cur[4096], up[4096];
    if (cg_read_file(dir, files[k], cur, sizeof cur, e) < 0) return -1;
    if (cur[0] != '\n' && cur[0] != 0) continue;
    if (cg_read_file(parent, files[k], up, sizeof up, e) < 0) return -1;
    if (cg_write_file(dir, files[k], up, e) < 0) return -1;
  }
  return 0;
}

int cg_v1_prepare_dir(const char *mount, const char *opts, const char *rel, struct sh_err *e) {
  int cpuset = strstr(opts, "cpuset") != NULL;
  char dir[PATH_MAX], parent[PATH_MAX];
  while (*rel == '/') rel++;
  snprintf(dir, sizeof dir, "%s", mount);
  for (const char *p = rel; *p;) {
    const char *s = strchr(p, '/');
    size_t n = s ? (size_t)(s - p) : strlen(p);
    snprintf(parent, sizeof parent, "%s", dir);
    size_t len = strlen(dir);
    if (n > 0) {
      snprintf(dir + len, sizeof dir - len, "/%.*s", (int)n, p);
      if (cg_mkdir_missing(dir, e) < 0) return -1;
      if (cpuset && cpuset_inherit(parent, dir, e) < 0) return -1;
    }
    if (!s) break;
    p = s + 1;
  }
  return 0;
}

/* SIGKILLs every task listed until the cgroup is empty (bounded: tasks may fork while we read). */
int cg_v1_kill(const char *dir, struct sh_err *e) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  struct sh_backoff b = {0};
  do {
    FILE *f = fopen(path, "re");
    if (!f) return errno == ENOENT ? 0 : sh_errno(e, errno, "cgroup: open %s", path);
    int pid, any = 0;
    while (fscanf(f, "%d", &pid) == 1) {
      any = 1;
      if (kill(pid, SIGKILL) < 0 && errno != ESRCH) {
        int err = errno;
        fclose(f);
        return sh_errno(e, err, "cgroup: kill pid %d in %s", pid, dir);
      }
    }
    fclose(f);
    if (!any) return 0;
  } while (sh_backoff_wait(&b, 1000) == 0);
  return sh_errf(e, "cgroup: %s still has processes after SIGKILL", dir);
}

int cg_v1_oom_kills(const char *dir, long long *count, struct sh_err *e) {
  char buf[1024];
  if (cg_read_file(dir, "memory.oom_control", buf, sizeof buf, e) < 0) return -1;
  const char *p = strstr(buf, "oom_kill ");
  *count = p ? atoll(p + 9) : 0;
  return 0;
}
