/* Per-process kernel attributes of the container's processes, each parsed in the runtime before
 * anything is created (so a bad value fails `create` with one line naming the field) and applied
 * in the process just before it reports ready: personality, NUMA memory policy, I/O priority and
 * scheduler. One file each: personality.c, mempolicy.c, ioprio.c, sched.c. */
#ifndef SHOAL_PROCATTR_H
#define SHOAL_PROCATTR_H
#include <jansson.h>
#include <sched.h>
#include <stdint.h>

#include "err.h"

#define SH_MPOL_MAX_NODES 1024

/* The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1 layout). */
struct sh_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

struct proc_attrs {
  int has_personality;
  unsigned long persona;
  int has_mempolicy;
  int mpol_mode; /* mode | flags, as set_mempolicy takes it */
  unsigned long mpol_nodes[SH_MPOL_MAX_NODES / (8 * sizeof(unsigned long))];
  int mpol_has_nodes;
  int has_ioprio;
  int ioprio; /* class << 13 | level */
  int has_sched;
  struct sh_sched_attr sched;
};

/* linux.personality */
int personality_parse(json_t *personality, struct proc_attrs *a, struct sh_err *e);
int personality_apply(const struct proc_attrs *a, struct sh_err *e);
/* linux.memoryPolicy */
int mempolicy_parse(json_t *policy, struct proc_attrs *a, struct sh_err *e);
int mempolicy_apply(const struct proc_attrs *a, struct sh_err *e);
/* process.ioPriority */
int ioprio_parse(json_t *prio, struct proc_attrs *a, struct sh_err *e);
int ioprio_apply(const struct proc_attrs *a, struct sh_err *e);
/* process.scheduler */
int sched_parse(json_t *sched, struct proc_attrs *a, struct sh_err *e);
int sched_apply(const struct proc_attrs *a, struct sh_err *e);

/* All four from a config's process object and linux object. */
int proc_attrs_parse(json_t *process, json_t *linux_obj, struct proc_attrs *a, struct sh_err *e);
/* In the container process: personality, memory policy, I/O priority, then the scheduler. */
int proc_attrs_apply(const struct proc_attrs *a, struct sh_err *e);
/* process.execCPUAffinity (cpu_affinity.c), for exec only. */
struct exec_affinity {
  int has_initial, has_final;
  cpu_set_t initial, final;
};
int exec_affinity_parse(json_t *process, struct exec_affinity *a, struct sh_err *e);
int exec_affinity_set(const cpu_set_t *set, const char *field, struct sh_err *e);
#endif
