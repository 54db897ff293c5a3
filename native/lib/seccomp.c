/* OCI linux.seccomp → a libseccomp filter. Built once in the parent (and then, without a
 * notification listener, turned into a BPF program and cached: seccomp_prog.c); loaded in the child
 * after no_new_privs and before the capabilities are dropped. */
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>

#include "security.h"

static int parse_action(const char *name, json_t *errno_ret, int default_errno, uint32_t *out, struct sh_err *e) {
  int ret = errno_ret && json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : default_errno;
  if (!name) return sh_errf(e, "seccomp: missing action");
  if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD")) *out = SCMP_ACT_KILL_THREAD;
  else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "SCMP_ACT_TRAP")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "SCMP_ACT_ERRNO")) *out = SCMP_ACT_ERRNO((uint16_t)ret);
  else if (!strcmp(name, "SCMP_ACT_TRACE")) *out = SCMP_ACT_TRACE((uint16_t)ret);
  else if (!strcmp(name, "SCMP_ACT_ALLOW")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "SCMP_ACT_LOG")) *out = SCMP_ACT_LOG;
  else if (!strcmp(name, "SCMP_ACT_NOTIFY")) *out = SCMP_ACT_NOTIFY;
  else return sh_errf(e, "seccomp: unknown action %s", name);
  return 0;
}

static int parse_op(const char *op, enum scmp_compare *out) {
  static const struct {
    const char *n;
    enum scmp_compare c;
  } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
             {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
             {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(op, ops[i].n)) {
      *out = ops[i].c;
      return 0;
    }
  return -1;
}

static uint32_t arch_token(const char *name) {
  static const struct {
    const char *n;
    const char *lib;
  } map[] = {{"SCMP_ARCH_X86", "x86"},         {"SCMP_ARCH_X86_64", "x86_64"},     {"SCMP_ARCH_X32", "x32"},
             {"SCMP_ARCH_ARM", "arm"},         {"SCMP_ARCH_AARCH64", "aarch64"},   {"SCMP_ARCH_MIPS", "mips"},
             {"SCMP_ARCH_MIPS64", "mips64"},   {"SCMP_ARCH_MIPS64N32", "mips64n32"}, {"SCMP_ARCH_MIPSEL", "mipsel"},
             {"SCMP_ARCH_MIPSEL64", "mipsel64"}, {"SCMP_ARCH_MIPSEL64N32", "mipsel64n32"}, {"SCMP_ARCH_PPC", "ppc"},
             {"SCMP_ARCH_PPC64", "ppc64"},     {"SCMP_ARCH_PPC64LE", "ppc64le"},   {"SCMP_ARCH_S390", "s390"},
             {"SCMP_ARCH_S390X", "s390x"},     {"SCMP_ARCH_PARISC", "parisc"},     {"SCMP_ARCH_PARISC64", "parisc64"},
             {"SCMP_ARCH_RISCV64", "riscv64"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(name, map[i].n)) return seccomp_arch_resolve_name(map[i].lib);
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, json_t *rule, size_t idx, uint32_t def, int def_errno, struct sh_err *e) {
  uint32_t action;
  if (parse_action(json_string_value(json_object_get(rule, "action")), json_object_get(rule, "errnoRet"), def_errno,
                   &action, e) < 0)
    return -1;
  if (action == def) return 0; /* same as the default: nothing to add */
  struct scmp_arg_cmp cmps[6];
  unsigned ncmp = 0;
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(rule, "args"), i, a) {
    if (ncmp >= 6) return sh_errf(e, "seccomp: syscalls[%zu]: more than 6 argument filters", idx);
    enum scmp_compare op;
    if (parse_op(json_string_value(json_object_get(a, "op")), &op) < 0)
      return sh_errf(e, "seccomp: syscalls[%zu].args[%zu]: unknown op", idx, i);
    cmps[ncmp].arg = (unsigned)json_integer_value(json_object_get(a, "index"));
    cmps[ncmp].op = op;
    cmps[ncmp].datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value"));
    cmps[ncmp].datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo"));
    if (cmps[ncmp].arg > 5) return sh_errf(e, "seccomp: syscalls[%zu].args[%zu]: index above 5", idx, i);
    ncmp++;
  }
  json_t *names = json_object_get(rule, "names");
  json_t *n;
  json_array_foreach(names, i, n) {
    const char *name = json_string_value(n);
    if (!name) continue;
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue; /* unknown to this libseccomp/arch: skipped like other runtimes do */
    /* Several filters on the same argument index cannot be expressed in one rule: add one rule per
     * comparison then (an OR), as the other runtimes do. */
    int same_index = 0;
    for (unsigned x = 0; x < ncmp; x++)
      for (unsigned y = x + 1; y < ncmp; y++)
        if (cmps[x].arg == cmps[y].arg) same_index = 1;
    int r;
    if (same_index) {
      for (unsigned x = 0; x < ncmp; x++)
        if ((r = seccomp_rule_add_array(ctx, action, nr, 1, &cmps[x])) < 0)
          return sh_errno(e, -r, "seccomp: add rule for %s", name);
    } else if ((r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmps)) < 0) {
      return sh_errno(e, -r, "seccomp: add rule for %s", name);
    }
  }
  return 0;
}

int seccomp_build(json_t *sc, scmp_filter_ctx *out, struct sh_err *e) {
  *out = NULL;
  if (!sc || json_is_null(sc)) return 0;
  json_t *der = json_object_get(sc, "defaultErrnoRet");
  int def_errno = der && json_is_integer(der) ? (int)json_integer_value(der) : EPERM;
  uint32_t def;
  if (parse_action(json_string_value(json_object_get(sc, "defaultAction")), der, EPERM, &def, e) < 0) return -1;
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return sh_errf(e, "seccomp: init failed");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(sc, "architectures"), i, v) {
    uint32_t arch = arch_token(json_string_value(v) ? json_string_value(v) : "");
    if (!arch) {
      seccomp_release(ctx);
      return sh_errf(e, "seccomp: unknown architecture %s", json_string_value(v));
    }
    int r = seccomp_arch_add(ctx, arch);
    if (r < 0 && r != -EEXIST) {
      seccomp_release(ctx);
      return sh_errno(e, -r, "seccomp: add architecture %s", json_string_value(v));
    }
  }
  json_array_foreach(json_object_get(sc, "flags"), i, v) {
    const char *f = json_string_value(v);
    int r = 0;
    if (!f) continue;
    if (!strcmp(f, "SECCOMP_FILTER_FLAG_TSYNC")) r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    else if (!strcmp(f, "SECCOMP_FILTER_FLAG_LOG")) r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
    else if (!strcmp(f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW")) r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
    else if (!strcmp(f, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")) r = 0; /* applied at load (seccomp_notify.c) */
    else sh_warn("seccomp: flag %s is not supported, ignored", f);
    if (r < 0) {
      seccomp_release(ctx);
      return sh_errno(e, -r, "seccomp: set flag %s", f);
    }
  }
  /* The filter is loaded after no_new_privs; without NNP the kernel would need CAP_SYS_ADMIN. */
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  json_array_foreach(json_object_get(sc, "syscalls"), i, v) {
    if (add_rule(ctx, v, i, def, def_errno, e) < 0) {
      seccomp_release(ctx);
      return -1;
    }
  }
  *out = ctx;
  return 0;
}

json_t *seccomp_features_json(void) {
  return json_pack("{s:b,s:[sssssssss],s:[sssssss],s:[ssss],s:[ssss],s:[ss]}", "enabled", 1, "actions", "SCMP_ACT_ALLOW",
                   "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                   "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                   "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", "knownFlags",
                   "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                   "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "supportedFlags", "SECCOMP_FILTER_FLAG_TSYNC",
                   "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "archs",
                   "SCMP_ARCH_X86_64", "SCMP_ARCH_X86");
}
