/* update: new linux.resources for a container's cgroup (`shoal-runtime update --resources FILE`).
 * Validated first (planner and target files), then written; on cgroup v2 a devices list replaces
 * the eBPF device program. The container's linux.devices nodes stay allowed, as at create. */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "runtime.h"
#include "state.h"
#include "util.h"

int sh_update(const char *root, const char *id, const char *resources_file, struct sh_err *e) {
  json_error_t je;
  json_t *res = !strcmp(resources_file, "-") ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &je)
                                              : json_load_file(resources_file, JSON_REJECT_DUPLICATES, &je);
  if (!res) return sh_errf(e, "update: --resources %s: line %d: %s", resources_file, je.line, je.text);
  if (!json_is_object(res)) {
    json_decref(res);
    return sh_errf(e, "update: --resources %s: not a linux.resources object", resources_file);
  }
  struct sh_state s;
  if (sh_state_load(root, id, &s, e) < 0) {
    json_decref(res);
    return -1;
  }
  json_t *spec = NULL;
  int r = -1;
  if (!strcmp(sh_state_status(root, &s), "stopped")) {
    sh_errf(e, "update: container %s is stopped", id);
    goto out;
  }
  if (!(spec = sh_state_config(root, id, e))) goto out;
  json_t *devices = json_object_get(json_object_get(spec, "linux"), "devices");
  struct cg_layout l;
  static struct cg_plan plan;
  if (cg_layout_load(&l, e) < 0 || cg_plan_resources(&l, 0, res, &plan, e) < 0 ||
      cg_plan_allow_devices(&l, res, devices, &plan, e) < 0 || cg_apply_plan(&l, s.cgroups_path, &plan, e) < 0 ||
      cg_devices_apply(&l, s.cgroups_path, res, devices, e) < 0)
    goto out;
  r = 0;
out:
  json_decref(spec);
  json_decref(res);
  sh_state_free(&s);
  return r;
}
