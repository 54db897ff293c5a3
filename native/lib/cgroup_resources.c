/* OCI linux.resources → a plan of cgroup file writes, per controller version. Pure: reads nothing
 * but the JSON and the layout, so the v2 conversions can be checked on a v1 host. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

unsigned long long cg_shares_to_weight(unsigned long long shares) {
  /* cpu.shares [2, 262144] maps linearly onto cpu.weight [1, 10000]. */
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

unsigned long long cg_blkio_to_io_weight(unsigned long long weight) {
  /* blkio.weight [10, 1000] maps linearly onto io.weight [1, 10000]. */
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + ((weight - 10) * 9999) / 990;
}

struct planner {
  const struct cg_layout *l;
  int force;
  struct cg_plan *p;
  struct sh_err *e;
};

static int version_of(struct planner *pl, const char *ctrl) {
  if (pl->force) return pl->force;
  return cg_controller_version(pl->l, ctrl);
}

static int add(struct planner *pl, const char *ctrl, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add(struct planner *pl, const char *ctrl, const char *file, const char *fmt, ...) {
  if (pl->p->n >= CG_MAX_WRITES) return sh_errf(pl->e, "linux.resources: too many cgroup settings");
  struct cg_write *w = &pl->p->w[pl->p->n++];
  snprintf(w->controller, sizeof w->controller, "%s", ctrl);
  snprintf(w->file, sizeof w->file, "%s", file);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->value, sizeof w->value, fmt, ap);
  va_end(ap);
  return 0;
}

/* Reads an integer member; returns 1 if present, 0 if absent/null, -1 if of the wrong type. */
static int get_int(json_t *o, const char *key, long long *v) {
  json_t *j = json_object_get(o, key);
  if (!j || json_is_null(j)) return 0;
  if (json_is_integer(j)) {
    *v = json_integer_value(j);
    return 1;
  }
  if (json_is_real(j)) {
    *v = (long long)json_real_value(j);
    return 1;
  }
  return -1;
}

#define GET(o, key, var)                                                                              \
  long long var = 0;                                                                                  \
  int has_##var = get_int(o, key, &var);                                                              \
  if (has_##var < 0) return sh_errf(pl->e, "linux.resources: %s is not a number", key);

static int need(struct planner *pl, const char *ctrl, const char *what) {
  int v = version_of(pl, ctrl);
  if (v == 0) return sh_errf(pl->e, "linux.resources.%s: the %s controller is not mounted", what, ctrl);
  return v;
}

static int plan_memory(struct planner *pl, json_t *m) {
  GET(m, "limit", limit);
  GET(m, "reservation", reservation);
  GET(m, "swap", swap);
  GET(m, "kernel", kernel);
  GET(m, "kernelTCP", kernel_tcp);
  GET(m, "swappiness", swappiness);
  json_t *oom = json_object_get(m, "disableOOMKiller");
  int any = has_limit || has_reservation || has_swap || has_kernel || has_kernel_tcp || has_swappiness || json_is_true(oom);
  if (!any) return 0;
  int v = need(pl, "memory", "memory");
  if (v < 0) return -1;
  if (has_swap && has_limit && limit > 0 && swap > 0 && swap < limit)
    return sh_errf(pl->e, "linux.resources.memory: swap (%lld) is below limit (%lld); swap is memory+swap", swap, limit);
  if (has_swappiness && (swappiness < 0 || swappiness > 100)) {
    if (swappiness != -1) return sh_errf(pl->e, "linux.resources.memory.swappiness: %lld is outside 0..100", swappiness);
    has_swappiness = 0;
  }
  if (v == 1) {
    if (has_limit && limit != 0) add(pl, "memory", "memory.limit_in_bytes", "%lld", limit < 0 ? -1 : limit);
    if (has_swap && swap != 0) add(pl, "memory", "memory.memsw.limit_in_bytes", "%lld", swap < 0 ? -1 : swap);
    if (has_reservation && reservation != 0) add(pl, "memory", "memory.soft_limit_in_bytes", "%lld", reservation < 0 ? -1 : reservation);
    if (has_kernel_tcp && kernel_tcp != 0) add(pl, "memory", "memory.kmem.tcp.limit_in_bytes", "%lld", kernel_tcp < 0 ? -1 : kernel_tcp);
    if (has_kernel && kernel != 0) sh_warn("linux.resources.memory.kernel is ignored: kernel memory limits are deprecated");
    if (has_swappiness) add(pl, "memory", "memory.swappiness", "%lld", swappiness);
    if (json_is_true(oom)) add(pl, "memory", "memory.oom_control", "1");
    return 0;
  }
  if (has_limit && limit != 0) {
    if (limit < 0) add(pl, "memory", "memory.max", "max");
    else add(pl, "memory", "memory.max", "%lld", limit);
  }
  if (has_swap && swap != 0) {
    /* OCI swap is memory+swap; memory.swap.max is swap alone. */
    if (swap < 0) add(pl, "memory", "memory.swap.max", "max");
    else if (!has_limit || limit <= 0)
      return sh_errf(pl->e, "linux.resources.memory.swap: needs a memory limit on cgroup v2 (swap is memory+swap)");
    else add(pl, "memory", "memory.swap.max", "%lld", swap - limit);
  }
  if (has_reservation && reservation != 0) {
    if (reservation < 0) add(pl, "memory", "memory.low", "max");
    else add(pl, "memory", "memory.low", "%lld", reservation);
  }
  if (has_kernel && kernel != 0) sh_warn("linux.resources.memory.kernel is ignored on cgroup v2");
  if (has_kernel_tcp && kernel_tcp != 0) sh_warn("linux.resources.memory.kernelTCP is ignored on cgroup v2");
  if (has_swappiness) sh_warn("linux.resources.memory.swappiness is ignored on cgroup v2");
  if (json_is_true(oom)) sh_warn("linux.resources.memory.disableOOMKiller is ignored on cgroup v2");
  return 0;
}

static int valid_cpulist(const char *s) {
  for (; *s; s++)
    if (!isdigit((unsigned char)*s) && *s != ',' && *s != '-') return 0;
  return 1;
}

static int plan_cpu(struct planner *pl, json_t *c) {
  GET(c, "shares", shares);
  GET(c, "quota", quota);
  GET(c, "burst", burst);
  GET(c, "period", period);
  GET(c, "realtimeRuntime", rt_runtime);
  GET(c, "realtimePeriod", rt_period);
  GET(c, "idle", idle);
  const char *cpus = json_string_value(json_object_get(c, "cpus"));
  const char *mems = json_string_value(json_object_get(c, "mems"));
  if (cpus && !*cpus) cpus = NULL;
  if (mems && !*mems) mems = NULL;
  if ((cpus && !valid_cpulist(cpus)) || (mems && !valid_cpulist(mems)))
    return sh_errf(pl->e, "linux.resources.cpu: cpus/mems must be a list like 0-2,4");
  if (has_shares || has_quota || has_period || has_burst || has_rt_runtime || has_rt_period || has_idle) {
    int v = need(pl, "cpu", "cpu");
    if (v < 0) return -1;
    if (v == 1) {
      if (has_shares && shares != 0) add(pl, "cpu", "cpu.shares", "%lld", shares);
      if (has_period && period != 0) add(pl, "cpu", "cpu.cfs_period_us", "%lld", period);
      if (has_quota && quota != 0) add(pl, "cpu", "cpu.cfs_quota_us", "%lld", quota < 0 ? -1 : quota);
      if (has_burst) add(pl, "cpu", "cpu.cfs_burst_us", "%lld", burst);
      if (has_rt_period && rt_period != 0) add(pl, "cpu", "cpu.rt_period_us", "%lld", rt_period);
      if (has_rt_runtime && rt_runtime != 0) add(pl, "cpu", "cpu.rt_runtime_us", "%lld", rt_runtime);
      if (has_idle) add(pl, "cpu", "cpu.idle", "%lld", idle);
    } else {
      if (has_shares && shares != 0) add(pl, "cpu", "cpu.weight", "%llu", cg_shares_to_weight((unsigned long long)shares));
      if ((has_quota && quota != 0) || (has_period && period != 0)) {
        long long p = has_period && period > 0 ? period : 100000;
        if (has_quota && quota > 0) add(pl, "cpu", "cpu.max", "%lld %lld", quota, p);
        else add(pl, "cpu", "cpu.max", "max %lld", p);
      }
      if (has_burst) add(pl, "cpu", "cpu.max.burst", "%lld", burst);
      if ((has_rt_runtime && rt_runtime != 0) || (has_rt_period && rt_period != 0))
        return sh_errf(pl->e, "linux.resources.cpu.realtime*: realtime bandwidth has no cgroup v2 interface");
      if (has_idle) add(pl, "cpu", "cpu.idle", "%lld", idle);
    }
  }
  if (cpus || mems) {
    if (need(pl, "cpuset", "cpu.cpus") < 0) return -1;
    if (cpus) add(pl, "cpuset", "cpuset.cpus", "%s", cpus);
    if (mems) add(pl, "cpuset", "cpuset.mems", "%s", mems);
  }
  return 0;
}

static int plan_pids(struct planner *pl, json_t *p) {
  GET(p, "limit", limit);
  if (!has_limit) return 0;
  if (need(pl, "pids", "pids") < 0) return -1;
  if (limit > 0) add(pl, "pids", "pids.max", "%lld", limit);
  else add(pl, "pids", "pids.max", "max");
  return 0;
}

static int device_list(struct planner *pl, json_t *arr, const char *what, int v, const char *v1file, const char *v2key) {
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d) {
    GET(d, "major", major);
    GET(d, "minor", minor);
    GET(d, "rate", rate);
    if (!has_major || !has_minor || !has_rate)
      return sh_errf(pl->e, "linux.resources.blockIO.%s[%zu]: major, minor and rate are required", what, i);
    if (v == 1) add(pl, "blkio", v1file, "%lld:%lld %lld", major, minor, rate);
    else add(pl, "io", "io.max", "%lld:%lld %s=%lld", major, minor, v2key, rate);
  }
  return 0;
}

static int plan_blkio(struct planner *pl, json_t *b) {
  GET(b, "weight", weight);
  GET(b, "leafWeight", leaf);
  json_t *wd = json_object_get(b, "weightDevice");
  static const char *const lists[4][3] = {
      {"throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"},
      {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"},
      {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"},
      {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"},
  };
  int any = has_weight || has_leaf || json_array_size(wd) > 0;
  for (int k = 0; k < 4; k++) any |= json_array_size(json_object_get(b, lists[k][0])) > 0;
  if (!any) return 0;
  int v = pl->force ? pl->force
                    : cg_controller_version(pl->l, "blkio") == 1 ? 1
                    : cg_controller_version(pl->l, "io") == 2    ? 2
                                                                 : 0;
  if (v == 0) return sh_errf(pl->e, "linux.resources.blockIO: neither blkio (v1) nor io (v2) is available");
  if (v == 1) {
    if (has_weight && weight != 0) add(pl, "blkio", "blkio.weight", "%lld", weight);
    if (has_leaf && leaf != 0) add(pl, "blkio", "blkio.leaf_weight", "%lld", leaf);
  } else {
    if (has_weight && weight != 0) add(pl, "io", "io.weight", "default %llu", cg_blkio_to_io_weight((unsigned long long)weight));
    if (has_leaf && leaf != 0) sh_warn("linux.resources.blockIO.leafWeight is ignored on cgroup v2");
  }
  size_t i;
  json_t *d;
  json_array_foreach(wd, i, d) {
    GET(d, "major", major);
    GET(d, "minor", minor);
    GET(d, "weight", w);
    if (!has_major || !has_minor) return sh_errf(pl->e, "linux.resources.blockIO.weightDevice[%zu]: major and minor are required", i);
    if (!has_w) continue;
    if (v == 1) add(pl, "blkio", "blkio.weight_device", "%lld:%lld %lld", major, minor, w);
    else add(pl, "io", "io.weight", "%lld:%lld %llu", major, minor, cg_blkio_to_io_weight((unsigned long long)w));
  }
  for (int k = 0; k < 4; k++)
    if (device_list(pl, json_object_get(b, lists[k][0]), lists[k][0], v, lists[k][1], lists[k][2]) < 0) return -1;
  return 0;
}

static int valid_page_size(const char *s) {
  if (!s || !isdigit((unsigned char)*s)) return 0;
  while (isdigit((unsigned char)*s)) s++;
  return (s[0] == 'K' || s[0] == 'M' || s[0] == 'G') && s[1] == 'B' && s[2] == 0;
}

static int plan_hugetlb(struct planner *pl, json_t *arr) {
  size_t i;
  json_t *h;
  json_array_foreach(arr, i, h) {
    const char *size = json_string_value(json_object_get(h, "pageSize"));
    GET(h, "limit", limit);
    if (!valid_page_size(size) || !has_limit)
      return sh_errf(pl->e, "linux.resources.hugepageLimits[%zu]: needs pageSize like 2MB and a limit", i);
    int v = need(pl, "hugetlb", "hugepageLimits");
    if (v < 0) return -1;
    char file[64];
    snprintf(file, sizeof file, v == 1 ? "hugetlb.%s.limit_in_bytes" : "hugetlb.%s.max", size);
    add(pl, "hugetlb", file, "%lld", limit);
  }
  return 0;
}

/* Devices every container needs (the spec's default devices plus the pty multiplexer and ptys). */
static const char *const default_device_rules[] = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                                   "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", NULL};

static int plan_devices(struct planner *pl, json_t *arr, int with_defaults) {
  if (json_array_size(arr) == 0) return 0;
  int v = version_of(pl, "devices");
  if (v != 1) return 0; /* cgroup v2: an eBPF program, not files (cgroup_devices_bpf.c) */
  size_t i;
  json_t *d;
  json_array_foreach(arr, i, d) {
    int allow = json_is_true(json_object_get(d, "allow"));
    const char *type = json_string_value(json_object_get(d, "type"));
    const char *access = json_string_value(json_object_get(d, "access"));
    if (!type || !*type) type = "a";
    if (!access || !*access) access = "rwm";
    if (strlen(type) != 1 || !strchr("abc", type[0]) || strspn(access, "rwm") != strlen(access))
      return sh_errf(pl->e, "linux.resources.devices[%zu]: bad type %s or access %s", i, type, access);
    GET(d, "major", major);
    GET(d, "minor", minor);
    char maj[24] = "*", min[24] = "*";
    if (has_major && major >= 0) snprintf(maj, sizeof maj, "%lld", major);
    if (has_minor && minor >= 0) snprintf(min, sizeof min, "%lld", minor);
    if (type[0] == 'a') add(pl, "devices", allow ? "devices.allow" : "devices.deny", "a");
    else add(pl, "devices", allow ? "devices.allow" : "devices.deny", "%s %s:%s %s", type, maj, min, access);
  }
  if (with_defaults)
    for (int k = 0; default_device_rules[k]; k++) add(pl, "devices", "devices.allow", "%s", default_device_rules[k]);
  return 0;
}

static int plan_network(struct planner *pl, json_t *n) {
  GET(n, "classID", classid);
  json_t *prios = json_object_get(n, "priorities");
  if (has_classid) {
    if (version_of(pl, "net_cls") == 1) add(pl, "net_cls", "net_cls.classid", "%lld", classid);
    else sh_warn("linux.resources.network.classID ignored: net_cls is not mounted");
  }
  size_t i;
  json_t *p;
  json_array_foreach(prios, i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    GET(p, "priority", prio);
    if (!name) return sh_errf(pl->e, "linux.resources.network.priorities[%zu]: name is required", i);
    if (version_of(pl, "net_prio") == 1) add(pl, "net_prio", "net_prio.ifpriomap", "%s %lld", name, prio);
    else sh_warn("linux.resources.network.priorities ignored: net_prio is not mounted");
  }
  return 0;
}

static int plan_unified(struct planner *pl, json_t *u) {
  const char *key;
  json_t *val;
  json_object_foreach(u, key, val) {
    const char *dot = strchr(key, '.');
    if (!dot || dot == key || strchr(key, '/') || strlen(key) >= sizeof pl->p->w[0].file)
      return sh_errf(pl->e, "linux.resources.unified: bad key %s", key);
    if (!json_is_string(val)) return sh_errf(pl->e, "linux.resources.unified.%s: value must be a string", key);
    char ctrl[16];
    snprintf(ctrl, sizeof ctrl, "%.*s", (int)(dot - key), key);
    int v = strcmp(ctrl, "cgroup") == 0 ? (pl->force ? pl->force : (pl->l->v2 >= 0 ? 2 : 0)) : version_of(pl, ctrl);
    if (v != 2) return sh_errf(pl->e, "linux.resources.unified.%s: controller %s is not on a cgroup v2 hierarchy here", key, ctrl);
    add(pl, ctrl, key, "%s", json_string_value(val));
  }
  return 0;
}

int cg_plan_resources(const struct cg_layout *l, int force_version, json_t *res, struct cg_plan *p, struct sh_err *e) {
  struct planner pl = {l, force_version, p, e};
  p->n = 0;
  e->msg[0] = 0;
  if (!res || json_is_null(res)) return 0;
  if (!json_is_object(res)) return sh_errf(e, "linux.resources: not an object");
  json_t *j;
  if ((j = json_object_get(res, "memory")) && plan_memory(&pl, j) < 0) return -1;
  if ((j = json_object_get(res, "cpu")) && plan_cpu(&pl, j) < 0) return -1;
  if ((j = json_object_get(res, "pids")) && plan_pids(&pl, j) < 0) return -1;
  if ((j = json_object_get(res, "blockIO")) && plan_blkio(&pl, j) < 0) return -1;
  if ((j = json_object_get(res, "hugepageLimits")) && plan_hugetlb(&pl, j) < 0) return -1;
  if ((j = json_object_get(res, "devices")) && plan_devices(&pl, j, 1) < 0) return -1;
  if ((j = json_object_get(res, "network")) && plan_network(&pl, j) < 0) return -1;
  if ((j = json_object_get(res, "rdma")) && json_object_size(j) > 0) sh_warn("linux.resources.rdma is ignored");
  if ((j = json_object_get(res, "unified")) && plan_unified(&pl, j) < 0) return -1;
  if (p->n >= CG_MAX_WRITES) return sh_errf(e, "linux.resources: too many cgroup settings");
  return 0;
}

int cg_plan_json(const struct cg_plan *p, char *out, size_t outlen) {
  json_t *a = json_array();
  for (int i = 0; i < p->n; i++)
    json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "controller", p->w[i].controller, "file", p->w[i].file, "value",
                                       p->w[i].value));
  char *s = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  if (!s) return -1;
  int r = snprintf(out, outlen, "%s", s) >= (int)outlen ? -1 : 0;
  free(s);
  return r;
}

int cg_plan_allow_devices(const struct cg_layout *l, json_t *resources, json_t *devices, struct cg_plan *p, struct sh_err *e) {
  if (json_array_size(json_object_get(resources, "devices")) == 0 || cg_controller_version(l, "devices") != 1) return 0;
  struct planner pl = {l, 0, p, e};
  size_t i;
  json_t *d;
  json_array_foreach(devices, i, d) {
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!type || (type[0] != 'c' && type[0] != 'b')) continue;
    if (add(&pl, "devices", "devices.allow", "%c %lld:%lld rwm", type[0], json_integer_value(json_object_get(d, "major")),
            json_integer_value(json_object_get(d, "minor"))) < 0)
      return -1;
  }
  return 0;
}
