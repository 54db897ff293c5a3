/* Container state under --root: <root>/<id>/state.json (what create recorded), config.json (the
 * bundle's config as it was at create), exec.fifo (exists while created, not yet started). */
#ifndef SHOAL_STATE_H
#define SHOAL_STATE_H
#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

#include "err.h"

#define SH_DEFAULT_ROOT "/run/shoal-runtime"
#define SH_OCI_VERSION "1.2.0"

struct sh_state {
  char id[256];
  pid_t pid;
  unsigned long long start_time;
  char bundle[PATH_MAX];
  char rootfs[PATH_MAX];
  char cgroups_path[1024];
  char created[64];
  uid_t owner;
  json_t *annotations; /* owned */
};

int sh_id_valid(const char *id, struct sh_err *e);
int sh_state_dir(const char *root, const char *id, char *out, size_t len);
int sh_state_save(const char *root, const struct sh_state *s, struct sh_err *e);
int sh_state_load(const char *root, const char *id, struct sh_state *s, struct sh_err *e);
void sh_state_free(struct sh_state *s);
/* "created", "running" or "stopped". */
const char *sh_state_status(const char *root, const struct sh_state *s);
/* The runtime spec's state JSON (malloc'd). */
char *sh_state_json(const char *id, pid_t pid, const char *status, const char *bundle, json_t *annotations, int pretty);
/* The config.json saved at create. */
json_t *sh_state_config(const char *root, const char *id, struct sh_err *e);
/* Removes <root>/<id> and everything in it. */
int sh_state_remove(const char *root, const char *id, struct sh_err *e);
void sh_now_rfc3339(char *out, size_t len);
#endif
