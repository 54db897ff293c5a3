/* linux.memoryPolicy → set_mempolicy(2) on the container process; the policy is inherited across
 * fork and execve, so every process of the container has it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procattr.h"
#include "util.h"

static const struct {
  const char *name;
  int mode;
  int nodes; /* 1: needs nodes, 0: must have none, -1: either */
} modes[] = {{"MPOL_DEFAULT", 0, 0},      {"MPOL_PREFERRED", 1, -1},       {"MPOL_BIND", 2, 1},
             {"MPOL_INTERLEAVE", 3, 1},   {"MPOL_LOCAL", 4, 0},            {"MPOL_PREFERRED_MANY", 5, 1},
             {"MPOL_WEIGHTED_INTERLEAVE", 6, 1}};
static const struct {
  const char *name;
  int flag;
} flags[] = {{"MPOL_F_NUMA_BALANCING", 1 << 13}, {"MPOL_F_RELATIVE_NODES", 1 << 14}, {"MPOL_F_STATIC_NODES", 1 << 15}};
#define N(x) (sizeof x / sizeof x[0])

int mempolicy_parse(json_t *mp, struct proc_attrs *a, struct sh_err *e) {
  if (!mp || json_is_null(mp)) return 0;
  if (!json_is_object(mp)) return sh_errf(e, "linux.memoryPolicy: must be an object");
  const char *mode = json_string_value(json_object_get(mp, "mode"));
  if (!mode) return sh_errf(e, "linux.memoryPolicy.mode: required");
  size_t m;
  for (m = 0; m < N(modes) && strcmp(mode, modes[m].name); m++) {
  }
  if (m == N(modes)) return sh_errf(e, "linux.memoryPolicy.mode: unknown mode %s", mode);
  memset(a->mpol_nodes, 0, sizeof a->mpol_nodes);
  a->mpol_has_nodes = 0;
  json_t *nodes = json_object_get(mp, "nodes");
  if (nodes && !json_is_null(nodes)) {
    if (!json_is_string(nodes)) return sh_errf(e, "linux.memoryPolicy.nodes: must be a string like 0-3,7");
    int ranges = sh_parse_id_list("linux.memoryPolicy.nodes", "node", json_string_value(nodes), a->mpol_nodes, SH_MPOL_MAX_NODES, e);
    if (ranges < 0) return -1;
    a->mpol_has_nodes = ranges > 0;
  }
  if (modes[m].nodes == 1 && !a->mpol_has_nodes) return sh_errf(e, "linux.memoryPolicy.nodes: %s needs at least one node", mode);
  if (modes[m].nodes == 0 && a->mpol_has_nodes) return sh_errf(e, "linux.memoryPolicy.nodes: %s takes no nodes", mode);
  int f = 0;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(mp, "flags"), i, v) {
    const char *name = json_string_value(v);
    size_t k;
    for (k = 0; name && k < N(flags) && strcmp(name, flags[k].name); k++) {
    }
    if (!name || k == N(flags)) return sh_errf(e, "linux.memoryPolicy.flags[%zu]: unknown flag %s", i, name ? name : "(not a string)");
    f |= flags[k].flag;
  }
  if ((f & (1 << 14)) && (f & (1 << 15)))
    return sh_errf(e, "linux.memoryPolicy.flags: MPOL_F_RELATIVE_NODES and MPOL_F_STATIC_NODES exclude each other");
  a->mpol_mode = modes[m].mode | f;
  a->has_mempolicy = 1;
  return 0;
}

int mempolicy_apply(const struct proc_attrs *a, struct sh_err *e) {
  if (!a->has_mempolicy) return 0;
  /* maxnode counts bits and the kernel reads one fewer than given. */
  unsigned long maxnode = a->mpol_has_nodes ? SH_MPOL_MAX_NODES + 1 : 0;
  if (syscall(SYS_set_mempolicy, a->mpol_mode, a->mpol_has_nodes ? a->mpol_nodes : NULL, maxnode) < 0) {
    const char *name = "?";
    for (size_t i = 0; i < N(modes); i++)
      if (modes[i].mode == (a->mpol_mode & 0xff)) name = modes[i].name;
    return sh_errno(e, errno, "linux.memoryPolicy: set_mempolicy %s (flags 0x%x)", name, a->mpol_mode & ~0xff);
  }
  return 0;
}
