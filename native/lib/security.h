/* The process's security context: capabilities, seccomp, rlimits, user and groups, no_new_privs. */
#ifndef SHOAL_SECURITY_H
#define SHOAL_SECURITY_H
#include <jansson.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdint.h>

#include "err.h"

struct caps_set {
  uint64_t bounding, effective, permitted, inheritable, ambient;
  int present; /* process.capabilities given at all */
};

int caps_parse(json_t *caps, struct caps_set *out, struct sh_err *e);
/* Drops the bounding set, sets effective/permitted/inheritable, raises ambient. Called last. */
int caps_apply(const struct caps_set *c, struct sh_err *e);
/* All known capability names as a JSON array (for `features`). */
json_t *caps_all_json(void);
/* After setuid away from 0 (with keepcaps) the effective set is empty: make it the permitted set. */
int caps_restore_effective(struct sh_err *e);

/* Builds the filter (in the parent, once); NULL ctx with 0 return when no seccomp section. */
int seccomp_build(json_t *seccomp, scmp_filter_ctx *out, struct sh_err *e);
json_t *seccomp_features_json(void);

/* A filter as the BPF program seccomp(2) takes, and the flags its attributes ask for. */
struct seccomp_prog {
  struct sock_filter *insns; /* NULL: no filter */
  unsigned short len;
  unsigned long flags;
};
/* The program for linux.seccomp (none when absent), from the cache under root (seccomp_prog.c)
 * or built with libseccomp and then cached; root NULL: not cached. In the parent. */
int seccomp_prog_get(json_t *seccomp, const char *root, struct seccomp_prog *out, struct sh_err *e);
/* Exports a built filter; listener: it will be loaded with a notification listener. */
int seccomp_prog_export(scmp_filter_ctx ctx, int listener, struct seccomp_prog *out, struct sh_err *e);
/* seccomp(SECCOMP_SET_MODE_FILTER) with the program's flags and extra_flags: its return (the
 * listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER), or -1. */
int seccomp_prog_load(const struct seccomp_prog *p, unsigned long extra_flags, struct sh_err *e);
void seccomp_prog_free(struct seccomp_prog *p);

int rlimits_apply(json_t *rlimits, struct sh_err *e);
/* Sets groups, gid, uid (keeping the permitted caps across the uid change) and umask. */
int user_apply(json_t *user, struct sh_err *e);
/* Writes oomScoreAdj; when the kernel refuses a value below the caller's own, clamps and warns. */
int oom_score_adj_apply(json_t *process, struct sh_err *e);
#endif
