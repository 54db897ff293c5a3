/* process.ioPriority → ioprio_set(IOPRIO_WHO_PROCESS) on the container process; its children
 * inherit it. */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procattr.h"

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_CLASS_SHIFT 13

int ioprio_parse(json_t *p, struct proc_attrs *a, struct sh_err *e) {
  if (!p || json_is_null(p)) return 0;
  if (!json_is_object(p)) return sh_errf(e, "process.ioPriority: must be an object");
  const char *cls = json_string_value(json_object_get(p, "class"));
  int c;
  if (!cls) return sh_errf(e, "process.ioPriority.class: required (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)");
  if (!strcmp(cls, "IOPRIO_CLASS_RT")) c = 1;
  else if (!strcmp(cls, "IOPRIO_CLASS_BE")) c = 2;
  else if (!strcmp(cls, "IOPRIO_CLASS_IDLE")) c = 3;
  else return sh_errf(e, "process.ioPriority.class: unknown class %s (IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)", cls);
  json_t *prio = json_object_get(p, "priority");
  if (!json_is_integer(prio)) return sh_errf(e, "process.ioPriority.priority: required, an integer from 0 to 7");
  json_int_t level = json_integer_value(prio);
  if (level < 0 || level > 7) return sh_errf(e, "process.ioPriority.priority: %lld is outside 0..7", (long long)level);
  a->ioprio = c << IOPRIO_CLASS_SHIFT | (int)level;
  a->has_ioprio = 1;
  return 0;
}

int ioprio_apply(const struct proc_attrs *a, struct sh_err *e) {
  if (!a->has_ioprio) return 0;
  if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, a->ioprio) < 0)
    return sh_errno(e, errno, "process.ioPriority: ioprio_set class %d level %d", a->ioprio >> IOPRIO_CLASS_SHIFT,
                    a->ioprio & 7);
  return 0;
}
