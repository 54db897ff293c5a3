/* process.execCPUAffinity for `exec`: the runtime moves itself to `initial` before it forks (the
 * new process starts there), and the process moves to `final` once it is in the container's cgroup.
 * Not applied to a container's first process, as the spec says. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procattr.h"
#include "util.h"

/* "0-3,7" → set. */
static int parse_cpus(const char *field, const char *s, cpu_set_t *set, struct sh_err *e) {
  CPU_ZERO(set);
  if (!*s) return sh_errf(e, "process.execCPUAffinity.%s: empty", field);
  char name[64];
  snprintf(name, sizeof name, "process.execCPUAffinity.%s", field);
  unsigned long bits[CPU_SETSIZE / (8 * sizeof(unsigned long))] = {0};
  const size_t word = 8 * sizeof bits[0];
  if (sh_parse_id_list(name, "CPU", s, bits, CPU_SETSIZE, e) < 0) return -1;
  for (size_t c = 0; c < CPU_SETSIZE; c++)
    if (bits[c / word] & (1UL << (c % word))) CPU_SET(c, set);
  return 0;
}

int exec_affinity_parse(json_t *process, struct exec_affinity *a, struct sh_err *e) {
  memset(a, 0, sizeof *a);
  json_t *aff = json_object_get(process, "execCPUAffinity");
  if (!aff || json_is_null(aff)) return 0;
  if (!json_is_object(aff)) return sh_errf(e, "process.execCPUAffinity: must be an object");
  static const char *const names[] = {"initial", "final"};
  for (int i = 0; i < 2; i++) {
    json_t *v = json_object_get(aff, names[i]);
    if (!v || json_is_null(v)) continue;
    if (!json_is_string(v)) return sh_errf(e, "process.execCPUAffinity.%s: must be a string like 0-3,7", names[i]);
    if (!*json_string_value(v) && i == 1) continue; /* an empty final: leave it to the kernel */
    if (parse_cpus(names[i], json_string_value(v), i ? &a->final : &a->initial, e) < 0) return -1;
    if (i) a->has_final = 1;
    else a->has_initial = 1;
  }
  return 0;
}

int exec_affinity_set(const cpu_set_t *set, const char *field, struct sh_err *e) {
  if (sched_setaffinity(0, sizeof *set, set) < 0) return sh_errno(e, errno, "process.execCPUAffinity.%s: sched_setaffinity", field);
  return 0;
}
