/* Finds the cgroup hierarchies from /proc/self/mountinfo and classifies the host as v1, v2 or hybrid. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "util.h"

static const char *const v1_known[] = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls",
                                       "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc", NULL};

static int is_v1_controller_opt(const char *o) {
  if (strncmp(o, "name=", 5) == 0) return 1;
  for (int i = 0; v1_known[i]; i++)
    if (strcmp(o, v1_known[i]) == 0) return 1;
  return 0;
}

/* Keeps only the controller names (and name=) from a v1 super-options string. */
static void v1_controllers(const char *superopts, char *out, size_t outlen) {
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s", superopts);
  out[0] = 0;
  char *save = NULL;
  for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (!is_v1_controller_opt(t)) continue;
    if (out[0]) strncat(out, ",", outlen - strlen(out) - 1);
    strncat(out, t, outlen - strlen(out) - 1);
  }
}

int cg_layout_load(struct cg_layout *l, struct sh_err *e) {
  memset(l, 0, sizeof *l);
  l->v2 = -1;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return sh_errno(e, errno, "cgroup layout: open /proc/self/mountinfo");
  char line[4096];
  int v1 = 0;
  while (fgets(line, sizeof line, f)) {
    char *sep = strstr(line, " - ");
    if (!sep) continue;
    char fstype[32], source[256], superopts[512];
    if (sscanf(sep + 3, "%31s %255s %511s", fstype, source, superopts) != 3) continue;
    int version = strcmp(fstype, "cgroup2") == 0 ? 2 : strcmp(fstype, "cgroup") == 0 ? 1 : 0;
    if (!version) continue;
    char mnt[PATH_MAX], root[PATH_MAX];
    if (sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2) continue;
    sh_unescape_mountinfo(mnt);
    if (l->n >= CG_MAX_HIER) break;
    struct cg_hier *h = &l->h[l->n];
    h->version = version;
    if (version == 1) {
      v1_controllers(superopts, h->opts, sizeof h->opts);
      if (!h->opts[0]) continue;
      int dup = 0;
      for (int i = 0; i < l->n; i++)
        if (l->h[i].version == 1 && strcmp(l->h[i].opts, h->opts) == 0) dup = 1;
      if (dup) continue;
      v1++;
    } else {
      if (l->v2 >= 0) continue;
      l->v2 = l->n;
    }
    snprintf(h->mount, sizeof h->mount, "%s", mnt);
    l->n++;
  }
  fclose(f);
  if (l->v2 >= 0) {
    struct cg_hier *h = &l->h[l->v2];
    struct sh_err ignored;
    if (cg_read_file(h->mount, "cgroup.controllers", h->opts, sizeof h->opts, &ignored) < 0) h->opts[0] = 0;
    for (char *p = h->opts; *p; p++)
      if (*p == ' ' || *p == '\n') *p = ',';
    size_t n = strlen(h->opts);
    while (n && h->opts[n - 1] == ',') h->opts[--n] = 0;
  }
  if (l->n == 0) return sh_errf(e, "cgroup layout: no cgroup or cgroup2 mount in /proc/self/mountinfo");
  l->mode = v1 == 0 ? CG_MODE_V2 : (l->v2 >= 0 ? CG_MODE_HYBRID : CG_MODE_V1);
  return 0;
}

static int list_has(const char *list, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len == n && strncmp(p, item, n) == 0) return 1;
    if (!c) break;
    p = c + 1;
  }
  return 0;
}

int cg_layout_find(const struct cg_layout *l, const char *ctrl) {
  for (int i = 0; i < l->n; i++)
    if (l->h[i].version == 1 && list_has(l->h[i].opts, ctrl)) return i;
  if (l->v2 >= 0 && (strcmp(ctrl, "cgroup") == 0 || list_has(l->h[l->v2].opts, ctrl))) return l->v2;
  return -1;
}

int cg_controller_version(const struct cg_layout *l, const char *ctrl) {
  int i = cg_layout_find(l, ctrl);
  return i < 0 ? 0 : l->h[i].version;
}

int cg_layout_json(const struct cg_layout *l, char *out, size_t outlen) {
  json_t *o = json_object();
  static const char *const modes[] = {"v1", "v2", "hybrid"};
  json_object_set_new(o, "mode", json_string(modes[l->mode]));
  json_object_set_new(o, "v2_root", l->v2 >= 0 ? json_string(l->h[l->v2].mount) : json_null());
  json_t *v1 = json_object(), *v2c = json_array();
  for (int i = 0; i < l->n; i++) {
    if (l->h[i].version != 1) continue;
    char tmp[256], *save = NULL;
    snprintf(tmp, sizeof tmp, "%s", l->h[i].opts);
    for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
      json_object_set_new(v1, t, json_string(l->h[i].mount));
  }
  if (l->v2 >= 0) {
    char tmp[256], *save = NULL;
    snprintf(tmp, sizeof tmp, "%s", l->h[l->v2].opts);
    for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) json_array_append_new(v2c, json_string(t));
  }
  json_object_set_new(o, "v1", v1);
  json_object_set_new(o, "v2_controllers", v2c);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!s) return -1;
  int r = snprintf(out, outlen, "%s", s) >= (int)outlen ? -1 : 0;
  free(s);
  return r;
}
