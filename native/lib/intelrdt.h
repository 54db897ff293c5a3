/* linux.intelRdt through the resctrl filesystem (intelrdt.c). */
#ifndef SHOAL_INTELRDT_H
#define SHOAL_INTELRDT_H
#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

#include "err.h"

struct rdt_plan {
  int present;            /* linux.intelRdt given */
  char group[PATH_MAX];   /* the CTRL_MON group directory */
  char mon[PATH_MAX];     /* the container's MON group, "" without monitoring */
  int own_group;          /* no closID: the group is the container's, removed at delete */
  json_t *lines;          /* schemata lines in the order they are written */
};

/* Validates linux.intelRdt and finds the resctrl mount; refuses when intelRdt is given and no
 * resctrl filesystem is mounted. Writes nothing. */
int rdt_prepare(json_t *spec, const char *id, struct rdt_plan *p, struct sh_err *e);
/* Creates the group (or checks the existing one), writes the schemata, moves pid into it (and into
 * its MON group). */
int rdt_apply(struct rdt_plan *p, pid_t pid, struct sh_err *e);
/* Removes what the container owns (its own group, its MON group); quiet when resctrl is gone. */
int rdt_remove(json_t *spec, const char *id, struct sh_err *e);
void rdt_plan_free(struct rdt_plan *p);
#endif
