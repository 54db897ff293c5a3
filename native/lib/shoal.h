/* libshoal's API for the daemon (loaded through koffi). Strings in, JSON out; 0 on success, -1 with
 * one line in err on failure. None of these exit, fork, or print. */
#ifndef SHOAL_H
#define SHOAL_H
#include <stddef.h>

int shoal_cgroup_layout(char *out, size_t outlen);
int shoal_cgroup_apply(const char *cgroups_path, const char *resources_json, int pid, char *err, size_t errlen);
int shoal_cgroup_update(const char *cgroups_path, const char *resources_json, char *err, size_t errlen);
int shoal_cgroup_destroy(const char *cgroups_path, char *err, size_t errlen);
int shoal_cgroup_oom_killed(const char *cgroups_path);
/* The writes `resources_json` turns into on a host where every controller is on cgroup `version`
 * (1 or 2), as a JSON array of {controller,file,value}: a dry run, and the way the v2 conversions
 * are tested on a v1 host. */
int shoal_cgroup_plan(int version, const char *resources_json, char *out, size_t outlen);
/* Attaches the eBPF device program built from OCI `resources_json.devices` (plus the default
 * devices and `devices_json`, an OCI linux.devices array or NULL) to the cgroup2 directory
 * `cgroup2_dir` (absolute). What the runtime does on cgroup v2; exposed for tests on any host with
 * a cgroup2 mount. */
int shoal_cgroup_devices_bpf(const char *cgroup2_dir, const char *resources_json, const char *devices_json, char *err,
                             size_t errlen);
#endif
