/* Capabilities by name, applied with raw capset/prctl (five sets). */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "security.h"

#define CAP(n) {#n, n}
static const struct {
  const char *name;
  int value;
} cap_names[] = {
    CAP(CAP_CHOWN), CAP(CAP_DAC_OVERRIDE), CAP(CAP_DAC_READ_SEARCH), CAP(CAP_FOWNER), CAP(CAP_FSETID), CAP(CAP_KILL),
    CAP(CAP_SETGID), CAP(CAP_SETUID), CAP(CAP_SETPCAP), CAP(CAP_LINUX_IMMUTABLE), CAP(CAP_NET_BIND_SERVICE),
    CAP(CAP_NET_BROADCAST), CAP(CAP_NET_ADMIN), CAP(CAP_NET_RAW), CAP(CAP_IPC_LOCK), CAP(CAP_IPC_OWNER),
    CAP(CAP_SYS_MODULE), CAP(CAP_SYS_RAWIO), CAP(CAP_SYS_CHROOT), CAP(CAP_SYS_PTRACE), CAP(CAP_SYS_PACCT),
    CAP(CAP_SYS_ADMIN), CAP(CAP_SYS_BOOT), CAP(CAP_SYS_NICE), CAP(CAP_SYS_RESOURCE), CAP(CAP_SYS_TIME),
    CAP(CAP_SYS_TTY_CONFIG), CAP(CAP_MKNOD), CAP(CAP_LEASE), CAP(CAP_AUDIT_WRITE), CAP(CAP_AUDIT_CONTROL),
    CAP(CAP_SETFCAP), CAP(CAP_MAC_OVERRIDE), CAP(CAP_MAC_ADMIN), CAP(CAP_SYSLOG), CAP(CAP_WAKE_ALARM),
    CAP(CAP_BLOCK_SUSPEND), CAP(CAP_AUDIT_READ), CAP(CAP_PERFMON), CAP(CAP_BPF), CAP(CAP_CHECKPOINT_RESTORE),
};
#define N_CAPS (sizeof cap_names / sizeof cap_names[0])

static int last_cap(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  cached = CAP_LAST_CAP;
  if (f) {
    if (fscanf(f, "%d", &cached) != 1) cached = CAP_LAST_CAP;
    fclose(f);
  }
  return cached;
}

static int parse_list(json_t *arr, const char *set, uint64_t *mask, struct sh_err *e) {
  *mask = 0;
  if (!arr) return 0;
  if (!json_is_array(arr)) return sh_errf(e, "process.capabilities.%s: not an array", set);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *name = json_string_value(v);
    if (!name) return sh_errf(e, "process.capabilities.%s[%zu]: not a string", set, i);
    size_t k;
    for (k = 0; k < N_CAPS; k++)
      if (strcasecmp(cap_names[k].name, name) == 0 || strcasecmp(cap_names[k].name + 4, name) == 0) break;
    if (k == N_CAPS || cap_names[k].value > last_cap()) {
      sh_warn("process.capabilities.%s: %s is unknown to this kernel, ignored", set, name);
      continue;
    }
    *mask |= 1ULL << cap_names[k].value;
  }
  return 0;
}

int caps_parse(json_t *caps, struct caps_set *c, struct sh_err *e) {
  memset(c, 0, sizeof *c);
  if (!caps) return 0;
  c->present = 1;
  return parse_list(json_object_get(caps, "bounding"), "bounding", &c->bounding, e) < 0 ||
                 parse_list(json_object_get(caps, "effective"), "effective", &c->effective, e) < 0 ||
                 parse_list(json_object_get(caps, "permitted"), "permitted", &c->permitted, e) < 0 ||
                 parse_list(json_object_get(caps, "inheritable"), "inheritable", &c->inheritable, e) < 0 ||
                 parse_list(json_object_get(caps, "ambient"), "ambient", &c->ambient, e) < 0
             ? -1
             : 0;
}

int caps_apply(const struct caps_set *c, struct sh_err *e) {
  if (!c->present) return 0;
  int last = last_cap();
  for (int cap = 0; cap <= last; cap++)
    if (!(c->bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return sh_errno(e, errno, "capabilities: drop %d from the bounding set", cap);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(c->effective >> (32 * i));
    data[i].permitted = (uint32_t)(c->permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(c->inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) return sh_errno(e, errno, "capabilities: capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return sh_errno(e, errno, "capabilities: clear ambient");
  char refused[256] = "";
  for (int cap = 0; cap <= last; cap++)
    if ((c->ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) {
      size_t n = strlen(refused);
      snprintf(refused + n, sizeof refused - n, "%s%d", n ? "," : "", cap);
    }
  if (refused[0]) sh_warn("capabilities: ambient %s not raised (an ambient capability must be permitted and inheritable)", refused);
  return 0;
}

json_t *caps_all_json(void) {
  json_t *a = json_array();
  for (size_t k = 0; k < N_CAPS; k++) json_array_append_new(a, json_string(cap_names[k].name));
  return a;
}

int caps_restore_effective(struct sh_err *e) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return sh_errno(e, errno, "capabilities: capget");
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  if (syscall(SYS_capset, &hdr, data) < 0) return sh_errno(e, errno, "capabilities: restore effective after the uid change");
  return 0;
}
