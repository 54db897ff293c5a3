/* cgroup v2 specifics (Documentation/admin-guide/cgroup-v2.rst): controllers are enabled for a
 * cgroup by writing "+name" into its parent's cgroup.subtree_control, all the way down from the root;
 * a non-root cgroup that has processes cannot enable controllers for children ("no internal
 * processes"); cgroup.kill kills the whole subtree; memory.events counts oom_kill. */
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

/* Enables in `dir`'s subtree_control every controller its cgroup.controllers offers, one at a time:
 * a controller the kernel refuses to enable here (e.g. cpu with realtime tasks present) must not
 * keep the others off; its files are then missing and a limit that needs them fails by name. */
static int enable_all(const char *dir, int is_root, struct sh_err *e) {
  char avail[512], enabled[512];
  if (cg_read_file(dir, "cgroup.controllers", avail, sizeof avail, e) < 0) return -1;
  if (cg_read_file(dir, "cgroup.subtree_control", enabled, sizeof enabled, e) < 0) return -1;
  char have[520];
  snprintf(have, sizeof have, " %s ", enabled);
  for (char *c = have; *c; c++)
    if (*c == '\n') *c = ' ';
  char *save = NULL;
  for (char *t = strtok_r(avail, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
    char padded[64], req[64];
    snprintf(padded, sizeof padded, " %s ", t);
    if (strstr(have, padded)) continue;
    snprintf(req, sizeof req, "+%s", t);
    if (cg_write_file(dir, "cgroup.subtree_control", req, e) == 0) continue;
    if (errno == EBUSY && !is_root)
      return sh_errf(e, "cgroup: enable %s in %s/cgroup.subtree_control: the cgroup has processes of its own (cgroup v2 no-internal-processes rule)", t, dir);
    sh_warn("%s", e->msg);
  }
  return 0;
}

int cg_v2_enable_controllers(const char *mount, const char *rel, struct sh_err *e) {
  char dir[PATH_MAX];
  while (*rel == '/') rel++;
  snprintf(dir, sizeof dir, "%s", mount);
  int is_root = 1;
  for (const char *p = rel; *p;) {
    const char *s = strchr(p, '/');
    size_t n = s ? (size_t)(s - p) : strlen(p);
    if (n > 0) {
      if (enable_all(dir, is_root, e) < 0) return -1;
      size_t len = strlen(dir);
      snprintf(dir + len, sizeof dir - len, "/%.*s", (int)n, p);
      if (cg_mkdir_missing(dir, e) < 0) return -1;
      is_root = 0;
    }
    if (!s) break;
    p = s + 1;
  }
  return 0;
}

int cg_v2_kill(const char *dir, struct sh_err *e) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/cgroup.kill", dir);
  if (access(path, F_OK) == 0) {
    if (cg_write_file(dir, "cgroup.kill", "1", e) < 0) return -1;
    /* cgroup.events says "populated 0" once every task has gone. */
    struct sh_backoff b = {0};
    do {
      char ev[256];
      if (cg_read_file(dir, "cgroup.events", ev, sizeof ev, e) < 0) return -1;
      if (strstr(ev, "populated 0")) return 0;
    } while (sh_backoff_wait(&b, 1000) == 0);
    return sh_errf(e, "cgroup: %s still populated after cgroup.kill", dir);
  }
  return cg_v1_kill(dir, e); /* kernels before 5.14: same pid-list walk as v1 */
}

int cg_v2_oom_kills(const char *dir, long long *count, struct sh_err *e) {
  char buf[1024];
  if (cg_read_file(dir, "memory.events", buf, sizeof buf, e) < 0) return -1;
  const char *p = strstr(buf, "oom_kill ");
  *count = p ? atoll(p + 9) : 0;
  return 0;
}
