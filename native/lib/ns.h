/* Namespaces of the OCI spec: which are new, which are joined by path, in the order the kernel needs. */
#ifndef SHOAL_NS_H
#define SHOAL_NS_H
#include <jansson.h>
#include <sys/types.h>

#include "err.h"

enum ns_kind { NS_USER, NS_MNT, NS_PID, NS_NET, NS_IPC, NS_UTS, NS_CGROUP, NS_TIME, NS_COUNT };

struct ns_plan {
  int new_ns[NS_COUNT];         /* create this namespace */
  char path[NS_COUNT][4096];    /* join by path (empty: not joined) */
};

extern const char *const ns_proc_name[NS_COUNT]; /* names under /proc/PID/ns */
int ns_flag(enum ns_kind k);
int ns_parse(json_t *namespaces, struct ns_plan *p, struct sh_err *e);
/* Joins the namespace at path (setns), checking it is of the right kind. */
int ns_join_path(enum ns_kind k, const char *path, struct sh_err *e);
/* Writes uid_map and gid_map of pid from linux.uidMappings / gidMappings. */
int ns_write_id_maps(pid_t pid, json_t *linux_obj, struct sh_err *e);
#endif
