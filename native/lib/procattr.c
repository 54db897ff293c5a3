/* The four per-process attributes together, in the order they are applied. */
#include "procattr.h"

int proc_attrs_parse(json_t *process, json_t *linux_obj, struct proc_attrs *a, struct sh_err *e) {
  if (personality_parse(json_object_get(linux_obj, "personality"), a, e) < 0) return -1;
  if (mempolicy_parse(json_object_get(linux_obj, "memoryPolicy"), a, e) < 0) return -1;
  if (ioprio_parse(json_object_get(process, "ioPriority"), a, e) < 0) return -1;
  return sched_parse(json_object_get(process, "scheduler"), a, e);
}

/* The scheduler last: an idle or batch policy would slow what follows it. */
int proc_attrs_apply(const struct proc_attrs *a, struct sh_err *e) {
  if (personality_apply(a, e) < 0 || mempolicy_apply(a, e) < 0 || ioprio_apply(a, e) < 0) return -1;
  return sched_apply(a, e);
}
