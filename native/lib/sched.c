/* process.scheduler → sched_setattr(2) on the container process (inherited by its children unless
 * SCHED_FLAG_RESET_ON_FORK). */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "procattr.h"

static const struct {
  const char *name;
  uint32_t policy;
} policies[] = {{"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},       {"SCHED_BATCH", 3},
                {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
static const struct {
  const char *name;
  uint64_t flag;
} sched_flags[] = {{"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},       {"SCHED_FLAG_DL_OVERRUN", 0x04},
                   {"SCHED_FLAG_KEEP_POLICY", 0x08},    {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
                   {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
#define N(x) (sizeof x / sizeof x[0])

static int u64_field(json_t *s, const char *key, uint64_t *out, struct sh_err *e) {
  json_t *v = json_object_get(s, key);
  *out = 0;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return sh_errf(e, "process.scheduler.%s: must be a non-negative integer (nanoseconds)", key);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

int sched_parse(json_t *s, struct proc_attrs *a, struct sh_err *e) {
  if (!s || json_is_null(s)) return 0;
  if (!json_is_object(s)) return sh_errf(e, "process.scheduler: must be an object");
  struct sh_sched_attr *at = &a->sched;
  memset(at, 0, sizeof *at);
  at->size = sizeof *at;
  const char *pol = json_string_value(json_object_get(s, "policy"));
  if (!pol) return sh_errf(e, "process.scheduler.policy: required");
  size_t i;
  for (i = 0; i < N(policies) && strcmp(pol, policies[i].name); i++) {
  }
  if (i == N(policies)) return sh_errf(e, "process.scheduler.policy: unknown policy %s", pol);
  at->sched_policy = policies[i].policy;
  json_t *nice = json_object_get(s, "nice");
  if (nice && !json_is_null(nice)) {
    if (!json_is_integer(nice) || json_integer_value(nice) < -20 || json_integer_value(nice) > 19)
      return sh_errf(e, "process.scheduler.nice: must be an integer from -20 to 19");
    at->sched_nice = (int32_t)json_integer_value(nice);
  }
  json_t *prio = json_object_get(s, "priority");
  json_int_t p = prio && json_is_integer(prio) ? json_integer_value(prio) : 0;
  if (prio && !json_is_null(prio) && !json_is_integer(prio)) return sh_errf(e, "process.scheduler.priority: must be an integer");
  int realtime = at->sched_policy == 1 || at->sched_policy == 2;
  if (realtime && (p < 1 || p > 99))
    return sh_errf(e, "process.scheduler.priority: %s needs a priority from 1 to 99 (got %lld)", pol, (long long)p);
  if (!realtime && p != 0) return sh_errf(e, "process.scheduler.priority: must be 0 for %s (got %lld)", pol, (long long)p);
  at->sched_priority = (uint32_t)p;
  json_t *f;
  json_array_foreach(json_object_get(s, "flags"), i, f) {
    const char *name = json_string_value(f);
    size_t k;
    for (k = 0; name && k < N(sched_flags) && strcmp(name, sched_flags[k].name); k++) {
    }
    if (!name || k == N(sched_flags)) return sh_errf(e, "process.scheduler.flags[%zu]: unknown flag %s", i, name ? name : "(not a string)");
    at->sched_flags |= sched_flags[k].flag;
  }
  if (u64_field(s, "runtime", &at->sched_runtime, e) < 0 || u64_field(s, "deadline", &at->sched_deadline, e) < 0 ||
      u64_field(s, "period", &at->sched_period, e) < 0)
    return -1;
  if (at->sched_policy == 6) {
    uint64_t period = at->sched_period ? at->sched_period : at->sched_deadline;
    if (!at->sched_runtime || at->sched_runtime > at->sched_deadline || at->sched_deadline > period)
      return sh_errf(e, "process.scheduler: SCHED_DEADLINE needs 0 < runtime <= deadline <= period (got %llu, %llu, %llu)",
                     (unsigned long long)at->sched_runtime, (unsigned long long)at->sched_deadline,
                     (unsigned long long)at->sched_period);
  }
  a->has_sched = 1;
  return 0;
}

int sched_apply(const struct proc_attrs *a, struct sh_err *e) {
  if (!a->has_sched) return 0;
  struct sh_sched_attr at = a->sched;
  if (syscall(SYS_sched_setattr, 0, &at, 0) < 0) {
    const char *name = "?";
    for (size_t i = 0; i < N(policies); i++)
      if (policies[i].policy == at.sched_policy) name = policies[i].name;
    return sh_errno(e, errno, "process.scheduler: sched_setattr %s (nice %d, priority %u)", name, at.sched_nice, at.sched_priority);
  }
  return 0;
}
