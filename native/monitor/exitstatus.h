/* The container's exit status as the daemon reads it: one JSON object in a file written
 * atomically, and the same JSON in the EV_EXIT frame. */
#ifndef SHOAL_MONITOR_EXITSTATUS_H
#define SHOAL_MONITOR_EXITSTATUS_H
#include <stdbool.h>
#include <stddef.h>

struct exit_status {
  int exit_code; /* the process's exit code, or 128 + signal when killed by one */
  int signal;    /* the signal that killed it, 0 when it exited */
  long long exited_at_ns;
  bool oom_killed;
};

/* From a wait(2) status. */
void exit_status_from_wait(struct exit_status *st, int wstatus, long long now_ns);
/* {"exit_code":N,"signal":N,"exited_at_ns":"N","oom_killed":B}; returns the length. */
size_t exit_status_json(const struct exit_status *st, char *out, size_t cap);

/* OOM kills of the container's cgroup: a count read after create and again at exit. */
struct oom_probe {
  char file[4096]; /* memory.oom_control (v1) or memory.events (v2); empty: unknown */
  long long baseline;
};
/* cgroup_path: a cgroupsPath (relative to each hierarchy root) or an absolute directory under
 * /sys/fs/cgroup; NULL: read linux.cgroupsPath from the bundle's config.json (bundle NULL: none). */
void oom_probe_init(struct oom_probe *p, const char *cgroup_path, const char *bundle);
bool oom_probe_killed(const struct oom_probe *p);
#endif
