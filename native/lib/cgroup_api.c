/* The cgroup part of libshoal's koffi-facing API (shoal.h). */
#include <string.h>

#include "cgroup.h"
#include "shoal.h"

static json_t *parse_resources(const char *json, struct sh_err *e) {
  if (!json || !*json) return json_object();
  json_error_t je;
  json_t *r = json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (!r) sh_errf(e, "resources JSON: line %d: %s", je.line, je.text);
  return r;
}

int shoal_cgroup_layout(char *out, size_t outlen) {
  struct cg_layout l;
  struct sh_err e;
  if (cg_layout_load(&l, &e) < 0) {
    snprintf(out, outlen, "{\"error\":\"%s\"}", e.msg);
    return -1;
  }
  return cg_layout_json(&l, out, outlen);
}

static int apply(const char *path, const char *resources, int pid, int create, char *err, size_t errlen) {
  struct cg_layout l;
  struct sh_err e = {{0}};
  struct cg_plan plan;
  json_t *res = NULL;
  int r = -1;
  if (cg_path_valid(path, &e) < 0 || cg_layout_load(&l, &e) < 0) goto out;
  if (!(res = parse_resources(resources, &e))) goto out;
  if (cg_plan_resources(&l, 0, res, &plan, &e) < 0) goto out;
  if (create && cg_create(&l, path, &e) < 0) goto out;
  if (cg_apply_plan(&l, path, &plan, &e) < 0) goto out;
  /* v2: the device program is replaced whenever devices are given, at create and on update. */
  if (cg_devices_apply(&l, path, res, NULL, &e) < 0) goto out;
  if (pid > 0 && cg_enter(&l, path, pid, &e) < 0) goto out;
  r = 0;
out:
  json_decref(res);
  if (r < 0) sh_err_copy(&e, err, errlen);
  return r;
}

int shoal_cgroup_apply(const char *cgroups_path, const char *resources_json, int pid, char *err, size_t errlen) {
  return apply(cgroups_path, resources_json, pid, 1, err, errlen);
}

int shoal_cgroup_update(const char *cgroups_path, const char *resources_json, char *err, size_t errlen) {
  return apply(cgroups_path, resources_json, 0, 0, err, errlen);
}

int shoal_cgroup_destroy(const char *cgroups_path, char *err, size_t errlen) {
  struct cg_layout l;
  struct sh_err e = {{0}};
  if (cg_layout_load(&l, &e) < 0 || cg_destroy(&l, cgroups_path, &e) < 0) {
    sh_err_copy(&e, err, errlen);
    return -1;
  }
  return 0;
}

int shoal_cgroup_oom_killed(const char *cgroups_path) {
  struct cg_layout l;
  struct sh_err e;
  long long n = 0;
  if (cg_path_valid(cgroups_path, &e) < 0 || cg_layout_load(&l, &e) < 0 || cg_oom_kills(&l, cgroups_path, &n, &e) < 0)
    return -1;
  return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

int shoal_cgroup_plan(int version, const char *resources_json, char *out, size_t outlen) {
  struct sh_err e = {{0}};
  struct cg_plan plan;
  json_t *res = parse_resources(resources_json, &e);
  int r = -1;
  if (version != 1 && version != 2) sh_errf(&e, "cgroup plan: version must be 1 or 2");
  else if (res && cg_plan_resources(NULL, version, res, &plan, &e) == 0) r = cg_plan_json(&plan, out, outlen);
  json_decref(res);
  if (r < 0 && e.msg[0]) snprintf(out, outlen, "%s", e.msg);
  return r;
}

int shoal_cgroup_devices_bpf(const char *cgroup2_dir, const char *resources_json, const char *devices_json, char *err,
                             size_t errlen) {
  struct sh_err e = {{0}};
  json_t *res = parse_resources(resources_json, &e), *devs = NULL;
  int r = -1;
  if (res && devices_json && *devices_json) {
    json_error_t je;
    if (!(devs = json_loads(devices_json, 0, &je))) sh_errf(&e, "devices JSON: line %d: %s", je.line, je.text);
  }
  if (res && (!devices_json || !*devices_json || devs)) r = cg_v2_devices_apply(cgroup2_dir, res, devs, &e);
  json_decref(res);
  json_decref(devs);
  if (r < 0) sh_err_copy(&e, err, errlen);
  return r;
}
