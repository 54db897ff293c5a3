/* cgroups v1, v2 and hybrid behind one interface (cgroupfs driver: cgroupsPath is a path relative to
 * each hierarchy's root). cgroup_layout.c finds the hierarchies, cgroup_resources.c turns OCI
 * linux.resources into a plan of file writes per controller version, cgroup_v1.c / cgroup_v2.c hold
 * what differs between the versions when creating, entering and destroying a cgroup, and
 * cgroup_ops.c ties them together. */
#ifndef SHOAL_CGROUP_H
#define SHOAL_CGROUP_H
#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

#include "err.h"

enum cg_mode { CG_MODE_V1, CG_MODE_V2, CG_MODE_HYBRID };

#define CG_MAX_HIER 24
#define CG_MAX_WRITES 128

struct cg_hier {
  int version;              /* 1 or 2 */
  char mount[PATH_MAX / 4]; /* mount point of the hierarchy */
  char opts[256];           /* v1: controllers and name=, comma separated; v2: cgroup.controllers */
};

struct cg_layout {
  enum cg_mode mode;
  int n;
  int v2; /* index of the cgroup2 hierarchy or -1 */
  struct cg_hier h[CG_MAX_HIER];
};

/* One file write of a plan: `value` into `file` of the cgroup, in the hierarchy that holds
 * `controller` (v2: the unified hierarchy). */
struct cg_write {
  char controller[16];
  char file[64];
  char value[256];
};

struct cg_plan {
  int n;
  struct cg_write w[CG_MAX_WRITES];
};

int cg_layout_load(struct cg_layout *l, struct sh_err *e);
/* Index of the hierarchy holding controller `ctrl` ("name=systemd" works too), -1 if none. */
int cg_layout_find(const struct cg_layout *l, const char *ctrl);
/* Version (1 or 2) `ctrl` is managed with on this layout, 0 if absent. */
int cg_controller_version(const struct cg_layout *l, const char *ctrl);
int cg_layout_json(const struct cg_layout *l, char *out, size_t outlen);

/* Plan: pure conversion, no file access except what `l` says. `l` may be NULL together with
 * force_version 1 or 2 to plan for a host where every controller is on that version. */
int cg_plan_resources(const struct cg_layout *l, int force_version, json_t *resources, struct cg_plan *p,
                      struct sh_err *e);
/* linux.devices nodes are allowed in the devices cgroup (v1) whenever resources.devices restricts. */
int cg_plan_allow_devices(const struct cg_layout *l, json_t *resources, json_t *devices, struct cg_plan *p, struct sh_err *e);
int cg_plan_json(const struct cg_plan *p, char *out, size_t outlen);

/* Conversions documented by the kernel / the OCI cgroup-v2 mapping (exposed for unit tests). */
unsigned long long cg_shares_to_weight(unsigned long long shares);
unsigned long long cg_blkio_to_io_weight(unsigned long long weight);

/* Operations on a cgroup (path relative to every hierarchy root). */
int cg_path_valid(const char *rel, struct sh_err *e);
int cg_create(const struct cg_layout *l, const char *rel, struct sh_err *e);
int cg_apply_plan(const struct cg_layout *l, const char *rel, const struct cg_plan *p, struct sh_err *e);
int cg_enter(const struct cg_layout *l, const char *rel, pid_t pid, struct sh_err *e);
int cg_destroy(const struct cg_layout *l, const char *rel, struct sh_err *e);
int cg_oom_kills(const struct cg_layout *l, const char *rel, long long *count, struct sh_err *e);
/* Sends sig to every process of the cgroup (first hierarchy that has one). */
int cg_signal_all(const struct cg_layout *l, const char *rel, int sig, struct sh_err *e);
/* Full directory of `rel` in hierarchy i. */
int cg_dir(const struct cg_layout *l, int i, const char *rel, char *out, size_t outlen);

/* mkdir of one cgroup level unless it exists: the shared parents (e.g. /shoal-runtime) are only
 * looked up, because a mkdir that ends in EEXIST still takes the parent's inode lock exclusively
 * and serialises containers created at the same time. */
int cg_mkdir_missing(const char *dir, struct sh_err *e);
/* Version-specific parts (cgroup_v1.c / cgroup_v2.c). */
int cg_v1_prepare_dir(const char *mount, const char *opts, const char *rel, struct sh_err *e);
int cg_v2_enable_controllers(const char *mount, const char *rel, struct sh_err *e);
int cg_v1_kill(const char *dir, struct sh_err *e);
/* v2: builds the eBPF device program from resources.devices (+ defaults + linux.devices) and
 * attaches it to the cgroup dir; nothing when resources.devices is empty. */
int cg_v2_devices_apply(const char *dir, json_t *resources, json_t *linux_devices, struct sh_err *e);
/* Attaches it on the cgroup2 hierarchy when the devices controller is not on v1. */
int cg_devices_apply(const struct cg_layout *l, const char *rel, json_t *resources, json_t *linux_devices, struct sh_err *e);
int cg_v2_kill(const char *dir, struct sh_err *e);
int cg_v1_oom_kills(const char *dir, long long *count, struct sh_err *e);
int cg_v2_oom_kills(const char *dir, long long *count, struct sh_err *e);

/* Small file helpers shared by the cgroup code. */
int cg_write_file(const char *dir, const char *file, const char *value, struct sh_err *e);
int cg_read_file(const char *dir, const char *file, char *buf, size_t len, struct sh_err *e);
#endif
