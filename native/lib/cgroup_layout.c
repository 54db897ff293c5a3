/* Finds the cgroup hierarchies (statmount on /sys/fs/cgroup, else /proc/self/mountinfo) and classifies the host as v1, v2 or hybrid. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* Adds one cgroup mount (first mount of a hierarchy wins). Returns 1 when it counted as v1. */
static int add_hier(struct cg_layout *l, int version, const char *mnt, const char *superopts) {
  if (l->n >= CG_MAX_HIER) return 0;
  struct cg_hier *h = &l->h[l->n];
  h->version = version;
  if (version == 1) {
    v1_controllers(superopts, h->opts, sizeof h->opts);
    if (!h->opts[0]) return 0;
    for (int i = 0; i < l->n; i++)
      if (l->h[i].version == 1 && strcmp(l->h[i].opts, h->opts) == 0) return 0;
  } else {
    if (l->v2 >= 0) return 0;
    l->v2 = l->n;
  }
  snprintf(h->mount, sizeof h->mount, "%s", mnt);
  l->n++;
  return version == 1;
}

/* ---- fast path: statmount(2)/listmount(2) (Linux 6.8+) on the mounts at /sys/fs/cgroup ----
 * /proc/self/mountinfo prints every mount of the namespace (over a thousand on a busy node, ~1 ms
 * to generate, under the namespace lock); the cgroup hierarchies are normally /sys/fs/cgroup itself
 * (v2) or the mounts right under it. The result is used only when it is provably the same as the
 * mountinfo one: every hierarchy /proc/self/cgroup names (v1 ones by controllers, the v2 one) is
 * mounted there at its root; otherwise the caller reads mountinfo. */
#define SH_NR_STATMOUNT 457
#define SH_NR_LISTMOUNT 458
#define SH_STATX_MNT_ID_UNIQUE 0x4000U
#define SH_STATMOUNT_SB_BASIC 0x1U
#define SH_STATMOUNT_MNT_ROOT 0x8U
#define SH_STATMOUNT_MNT_POINT 0x10U
#define SH_STATMOUNT_FS_TYPE 0x20U
#define SH_STATMOUNT_MNT_OPTS 0x80U

struct sh_mnt_id_req {
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};

/* The fixed part of struct statmount (include/uapi/linux/mount.h), strings after it. */
struct sh_statmount {
  uint32_t size, mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major, sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags, fs_type;
  uint64_t mnt_id, mnt_parent_id;
  uint32_t mnt_id_old, mnt_parent_id_old;
  uint64_t mnt_attr, mnt_propagation, mnt_peer_group, mnt_master, propagate_from;
  uint32_t mnt_root, mnt_point;
  uint64_t spare[50];
  char str[];
};

struct sh_mount_info {
  union {
    struct sh_statmount sm;
    char buf[8192];
  } u;
};

static int stat_mount(uint64_t id, struct sh_mount_info *m) {
  struct sh_mnt_id_req req = {.size = 24, .mnt_id = id};
  unsigned want = SH_STATMOUNT_SB_BASIC | SH_STATMOUNT_MNT_ROOT | SH_STATMOUNT_MNT_POINT | SH_STATMOUNT_FS_TYPE | SH_STATMOUNT_MNT_OPTS;
  req.param = want;
  if (syscall(SH_NR_STATMOUNT, &req, &m->u.sm, sizeof m->u.buf, 0) < 0) return -1;
  /* mnt_opts is empty (and may be left out of the mask) for a mount without options */
  unsigned need = SH_STATMOUNT_MNT_ROOT | SH_STATMOUNT_MNT_POINT | SH_STATMOUNT_FS_TYPE;
  return (m->u.sm.mask & need) == need ? 0 : -1;
}

static const char *sm_str(const struct sh_mount_info *m, unsigned bit, uint32_t off) {
  return (m->u.sm.mask & bit) ? m->u.sm.str + off : "";
}

/* Adds the mount if it is a cgroup hierarchy mounted at its root; -1 on a cgroup mount of a
 * sub-cgroup (a bind mount: mountinfo decides then). */
static int add_stat_mount(struct cg_layout *l, const struct sh_mount_info *m, int *v1) {
  const char *type = sm_str(m, SH_STATMOUNT_FS_TYPE, m->u.sm.fs_type);
  int version = !strcmp(type, "cgroup2") ? 2 : !strcmp(type, "cgroup") ? 1 : 0;
  if (!version) return 0;
  if (strcmp(sm_str(m, SH_STATMOUNT_MNT_ROOT, m->u.sm.mnt_root), "/") != 0) return -1;
  *v1 += add_hier(l, version, sm_str(m, SH_STATMOUNT_MNT_POINT, m->u.sm.mnt_point),
                  sm_str(m, SH_STATMOUNT_MNT_OPTS, m->u.sm.mnt_opts));
  return 0;
}

/* 0: *l filled; 1: not decidable here (no statmount, unusual layout): read mountinfo. */
static int layout_from_statmount(struct cg_layout *l, int *v1) {
  struct statx stx;
  if (statx(AT_FDCWD, "/sys/fs/cgroup", 0, SH_STATX_MNT_ID_UNIQUE, &stx) < 0) return 1;
  if (!(stx.stx_mask & SH_STATX_MNT_ID_UNIQUE) || !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
      !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    return 1;
  struct sh_mount_info m;
  if (stat_mount(stx.stx_mnt_id, &m) < 0 || add_stat_mount(l, &m, v1) < 0) return 1;
  if (l->n == 0) {
    uint64_t ids[64];
    struct sh_mnt_id_req req = {.size = 24, .mnt_id = stx.stx_mnt_id};
    long n = syscall(SH_NR_LISTMOUNT, &req, ids, sizeof ids / sizeof ids[0], 0);
    if (n < 0 || n == (long)(sizeof ids / sizeof ids[0])) return 1;
    for (long i = 0; i < n; i++)
      if (stat_mount(ids[i], &m) < 0 || add_stat_mount(l, &m, v1) < 0) return 1;
  }
  /* Complete only if every hierarchy this process is in was found. */
  char *self = sh_read_file("/proc/self/cgroup", NULL, &(struct sh_err){0});
  if (!self) return 1;
  int complete = 1;
  for (char *save = NULL, *line = strtok_r(self, "\n", &save); line && complete; line = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = 0;
    if (!strcmp(line, "0:")) {
      complete = l->v2 >= 0;
      continue;
    }
    char want[256];
    v1_controllers(c1 + 1, want, sizeof want);
    int found = !want[0]; /* a hierarchy without controllers or name: nothing to manage there */
    for (int i = 0; i < l->n && !found; i++) found = l->h[i].version == 1 && !strcmp(l->h[i].opts, want);
    complete = found;
  }
  free(self);
  return complete ? 0 : 1;
}

int cg_layout_load(struct cg_layout *l, struct sh_err *e) {
  memset(l, 0, sizeof *l);
  l->v2 = -1;
  int v1 = 0;
  if (layout_from_statmount(l, &v1) == 0) goto found;
  memset(l, 0, sizeof *l);
  l->v2 = -1;
  v1 = 0;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return sh_errno(e, errno, "cgroup layout: open /proc/self/mountinfo");
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char *sep = strstr(line, " - ");
    if (!sep || strncmp(sep + 3, "cgroup", 6) != 0) continue; /* cheap filter: sscanf is slow per line */
    char fstype[32], source[256], superopts[512];
    if (sscanf(sep + 3, "%31s %255s %511s", fstype, source, superopts) != 3) continue;
    int version = strcmp(fstype, "cgroup2") == 0 ? 2 : strcmp(fstype, "cgroup") == 0 ? 1 : 0;
    if (!version) continue;
    char mnt[PATH_MAX], root[PATH_MAX];
    if (sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2) continue;
    sh_unescape_mountinfo(mnt);
    if (l->n >= CG_MAX_HIER) break;
    v1 += add_hier(l, version, mnt, superopts);
  }
  fclose(f);
found:
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
