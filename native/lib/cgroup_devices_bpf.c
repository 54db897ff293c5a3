/* cgroup v2 device filtering: v2 has no devices controller; the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead. This file turns the OCI device
 * rules into such a program (a few instructions per rule, written here with the kernel's uapi
 * opcodes) and attaches it to the container's cgroup on the cgroup2 hierarchy.
 *
 * Semantics as on v1: rules apply in order, a later rule overriding an earlier one, so the program
 * checks them from the last to the first and returns at the first match; nothing matched: deny.
 *
 * The program is named (PROG_NAME) so an update can find it among the cgroup's programs and
 * replace it atomically (BPF_F_REPLACE): with BPF_F_ALLOW_MULTI every attached program must allow
 * an access, so adding a second program could only ever narrow the rules. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"

struct dev_rule {
  int allow;
  char type;    /* 'a', 'b', 'c' */
  long long major, minor; /* -1: any */
  unsigned access;        /* BPF_DEVCG_ACC_* */
};

#define MAX_RULES 256
#define PROG_NAME "shoal_devices"

static unsigned access_bits(const char *s) {
  unsigned a = 0;
  for (; s && *s; s++)
    a |= *s == 'r' ? BPF_DEVCG_ACC_READ : *s == 'w' ? BPF_DEVCG_ACC_WRITE : *s == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
  return a ? a : (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
}

static long long num_or_any(json_t *j) { return j && json_is_integer(j) && json_integer_value(j) >= 0 ? json_integer_value(j) : -1; }

/* The spec's rules, then the devices every container needs, then the linux.devices nodes. */
static int collect(json_t *resources, json_t *linux_devices, struct dev_rule *r, int *n, struct sh_err *e) {
  size_t i;
  json_t *d;
  *n = 0;
  json_array_foreach(json_object_get(resources, "devices"), i, d) {
    if (*n >= MAX_RULES) return sh_errf(e, "linux.resources.devices: too many rules");
    const char *type = json_string_value(json_object_get(d, "type"));
    r[*n] = (struct dev_rule){json_is_true(json_object_get(d, "allow")), type && *type ? type[0] : 'a',
                              num_or_any(json_object_get(d, "major")), num_or_any(json_object_get(d, "minor")),
                              access_bits(json_string_value(json_object_get(d, "access")))};
    if (!strchr("abc", r[*n].type)) return sh_errf(e, "linux.resources.devices[%zu]: bad type %s", i, type);
    (*n)++;
  }
  static const long long defaults[][2] = {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, -1}};
  for (size_t k = 0; k < sizeof defaults / sizeof defaults[0]; k++)
    r[(*n)++] = (struct dev_rule){1, 'c', defaults[k][0], defaults[k][1], access_bits("rwm")};
  json_array_foreach(linux_devices, i, d) {
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!type || (type[0] != 'c' && type[0] != 'b')) continue;
    if (*n >= MAX_RULES) return sh_errf(e, "linux.devices: too many devices");
    r[(*n)++] = (struct dev_rule){1, type[0], json_integer_value(json_object_get(d, "major")),
                                  json_integer_value(json_object_get(d, "minor")), access_bits("rwm")};
  }
  return 0;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int emit_program(const struct dev_rule *r, int n, struct bpf_insn *p, int max) {
  int k = 0;
  /* r2 = device type, r3 = requested access, r4 = major, r5 = minor */
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
  p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
  p[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
  p[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
  for (int i = n - 1; i >= 0; i--) {
    const struct dev_rule *x = &r[i];
    int all_access = x->access == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
    int len = (x->type != 'a') + (all_access ? 0 : 3) + (x->major >= 0) + (x->minor >= 0) + 2;
    if (k + len + 2 > max) return -1;
    int left = len; /* instructions of this block from the current one to its end */
    if (x->type != 'a') {
      left--;
      p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, (short)(left), x->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
    }
    if (!all_access) {
      p[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
      p[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int)~x->access);
      left -= 3;
      p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, (short)(left), 0);
    }
    if (x->major >= 0) {
      left--;
      p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, (short)(left), (int)x->major);
    }
    if (x->minor >= 0) {
      left--;
      p[k++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, (short)(left), (int)x->minor);
    }
    p[k++] = INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, x->allow ? 1 : 0);
    p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    /* A rule matching everything decides alone: what precedes it can never be reached (and the
     * verifier refuses unreachable instructions). */
    if (len == 2) return k;
  }
  p[k++] = INSN(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  p[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return k;
}

/* Our program among those attached to the cgroup: an fd, -1 when there is none, -2 on error.
 * Others' programs are left alone. */
static int find_ours(int cfd, const char *dir, struct sh_err *e) {
  __u32 ids[64];
  union bpf_attr q;
  memset(&q, 0, sizeof q);
  q.query.target_fd = (unsigned)cfd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = (__u64)(unsigned long)ids;
  q.query.prog_cnt = sizeof ids / sizeof ids[0];
  if (syscall(SYS_bpf, BPF_PROG_QUERY, &q, sizeof q) < 0) {
    sh_errno(e, errno, "cgroup devices: query the device programs of %s", dir);
    return -2;
  }
  for (__u32 i = 0; i < q.query.prog_cnt; i++) {
    union bpf_attr g;
    memset(&g, 0, sizeof g);
    g.prog_id = ids[i];
    int fd = (int)syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &g, sizeof g);
    if (fd < 0) {
      if (errno == ENOENT) continue; /* detached meanwhile */
      sh_errno(e, errno, "cgroup devices: open device program %u of %s", ids[i], dir);
      return -2;
    }
    struct bpf_prog_info info;
    memset(&info, 0, sizeof info);
    union bpf_attr in;
    memset(&in, 0, sizeof in);
    in.info.bpf_fd = (unsigned)fd;
    in.info.info_len = sizeof info;
    in.info.info = (__u64)(unsigned long)&info;
    if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &in, sizeof in) < 0) {
      int err = errno;
      close(fd);
      sh_errno(e, err, "cgroup devices: read device program %u of %s", ids[i], dir);
      return -2;
    }
    if (!strncmp(info.name, PROG_NAME, sizeof info.name)) return fd;
    close(fd);
  }
  return -1;
}

int cg_v2_devices_apply(const char *dir, json_t *resources, json_t *linux_devices, struct sh_err *e) {
  static struct dev_rule rules[MAX_RULES + 16];
  static struct bpf_insn prog[(MAX_RULES + 16) * 8 + 16];
  int n;
  if (json_array_size(json_object_get(resources, "devices")) == 0) return 0;
  if (collect(resources, linux_devices, rules, &n, e) < 0) return -1;
  int len = emit_program(rules, n, prog, (int)(sizeof prog / sizeof prog[0]));
  if (len < 0) return sh_errf(e, "cgroup devices: program too long");
  static char log[8192];
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (__u64)(unsigned long)prog;
  load.insn_cnt = (unsigned)len;
  load.license = (__u64)(unsigned long)"Apache-2.0";
  load.log_buf = (__u64)(unsigned long)log;
  load.log_size = sizeof log;
  load.log_level = 1;
  memcpy(load.prog_name, PROG_NAME, sizeof PROG_NAME);
  log[0] = 0;
  int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
  if (pfd < 0) {
    int err = errno;
    char *nl;
    while ((nl = strchr(log, '\n'))) *nl = ' ';
    return sh_errno(e, err, "cgroup devices: load the eBPF device program (%d instructions)%s%.200s", len, log[0] ? ": " : "", log);
  }
  int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0) {
    int err = errno;
    close(pfd);
    return sh_errno(e, err, "cgroup devices: open %s", dir);
  }
  int old = find_ours(cfd, dir, e);
  if (old == -2) {
    close(cfd);
    close(pfd);
    return -1;
  }
  union bpf_attr at;
  memset(&at, 0, sizeof at);
  at.target_fd = (unsigned)cfd;
  at.attach_bpf_fd = (unsigned)pfd;
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (old >= 0) {
    at.attach_flags |= BPF_F_REPLACE;
    at.replace_bpf_fd = (unsigned)old;
  }
  int r = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &at, sizeof at);
  int err = errno;
  close(cfd);
  close(pfd);
  if (old >= 0) close(old);
  if (r < 0) return sh_errno(e, err, "cgroup devices: %s the eBPF device program %s %s", old >= 0 ? "replace" : "attach",
                             old >= 0 ? "of" : "to", dir);
  return 0;
}
