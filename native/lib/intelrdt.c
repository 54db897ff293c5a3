/* linux.intelRdt: the container's tasks in a resctrl CTRL_MON group (closID, or a group named after
 * the container), its schemata written (l3CacheSchema, then memBwSchema, then schemata[]), and
 * a MON group of its own when monitoring is asked for. Without a mounted resctrl filesystem an
 * intelRdt section is an error, as the spec requires. */
#include "intelrdt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int resctrl_mount(char *out, size_t len, struct sh_err *e) {
  char *info = sh_read_file("/proc/self/mountinfo", NULL, e);
  if (!info) return -1;
  int found = 0;
  for (char *save = NULL, *line = strtok_r(info, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
    const char *sep = strstr(line, " - ");
    char mnt[PATH_MAX], fstype[64];
    if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "resctrl") != 0) continue;
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1) continue;
    sh_unescape_mountinfo(mnt);
    snprintf(out, len, "%s", mnt);
    found = 1;
  }
  free(info);
  return found;
}

static int one_line(json_t *v, const char *field, const char *prefix, struct sh_err *e) {
  const char *s = json_string_value(v);
  if (!s) return sh_errf(e, "linux.intelRdt.%s: must be a string", field);
  if (strchr(s, '\n')) return sh_errf(e, "linux.intelRdt.%s: must not contain a newline", field);
  if (prefix && strncmp(s, prefix, strlen(prefix)) != 0) return sh_errf(e, "linux.intelRdt.%s: must start with %s (got %s)", field, prefix, s);
  if (!*s) return sh_errf(e, "linux.intelRdt.%s: empty", field);
  return 0;
}

static int monitoring(json_t *rdt) {
  return json_is_true(json_object_get(rdt, "enableMonitoring")) || json_is_true(json_object_get(rdt, "enableCMT")) ||
         json_is_true(json_object_get(rdt, "enableMBM"));
}

/* The group and MON group directories for a config, without touching resctrl beyond finding it. */
static int rdt_paths(json_t *rdt, const char *id, struct rdt_plan *p, struct sh_err *e) {
  const char *clos = json_string_value(json_object_get(rdt, "closID"));
  json_t *cj = json_object_get(rdt, "closID");
  if (cj && !json_is_null(cj) && !clos) return sh_errf(e, "linux.intelRdt.closID: must be a string");
  if (clos && strcmp(clos, "/") != 0 && (!*clos || strchr(clos, '/') || !strcmp(clos, ".") || !strcmp(clos, "..") ||
                                        strchr(clos, '\n')))
    return sh_errf(e, "linux.intelRdt.closID: %s is not a group name (a single path component, or / for the default group)", clos);
  char mnt[PATH_MAX];
  int r = resctrl_mount(mnt, sizeof mnt, e);
  if (r < 0) return -1;
  if (r == 0)
    return sh_errf(e, "linux.intelRdt: no resctrl filesystem is mounted in the runtime's mount namespace "
                      "(Intel RDT needs the hardware and `mount -t resctrl resctrl /sys/fs/resctrl`)");
  if (clos && !strcmp(clos, "/")) snprintf(p->group, sizeof p->group, "%s", mnt);
  else snprintf(p->group, sizeof p->group, "%s/%s", mnt, clos ? clos : id);
  p->own_group = clos == NULL;
  p->mon[0] = 0;
  if (monitoring(rdt)) snprintf(p->mon, sizeof p->mon, "%s/mon_groups/%s", p->group, id);
  return 0;
}

int rdt_prepare(json_t *spec, const char *id, struct rdt_plan *p, struct sh_err *e) {
  memset(p, 0, sizeof *p);
  json_t *rdt = json_object_get(json_object_get(spec, "linux"), "intelRdt");
  if (!rdt || json_is_null(rdt)) return 0;
  if (!json_is_object(rdt)) return sh_errf(e, "linux.intelRdt: must be an object");
  p->present = 1;
  p->lines = json_array();
  json_t *v;
  if ((v = json_object_get(rdt, "l3CacheSchema")) && !json_is_null(v)) {
    if (one_line(v, "l3CacheSchema", NULL, e) < 0) return -1;
    json_array_append(p->lines, v);
  }
  if ((v = json_object_get(rdt, "memBwSchema")) && !json_is_null(v)) {
    if (one_line(v, "memBwSchema", "MB:", e) < 0) return -1;
    json_array_append(p->lines, v);
  }
  json_t *sch = json_object_get(rdt, "schemata");
  if (sch && !json_is_null(sch) && !json_is_array(sch)) return sh_errf(e, "linux.intelRdt.schemata: must be an array of strings");
  size_t i;
  json_array_foreach(sch, i, v) {
    char field[32];
    snprintf(field, sizeof field, "schemata[%zu]", i);
    if (one_line(v, field, NULL, e) < 0) return -1;
    json_array_append(p->lines, v);
  }
  return rdt_paths(rdt, id, p, e);
}

/* "    L3:0=7f0;1=1f" → "L3:0=7f0;1=1f", lower case, no blanks: how a written line reads back. */
static void normalize(const char *in, char *out, size_t len) {
  size_t k = 0;
  for (; *in && k + 1 < len; in++)
    if (*in != ' ' && *in != '\t') out[k++] = (char)(*in >= 'A' && *in <= 'Z' ? *in - 'A' + 'a' : *in);
  out[k] = 0;
}

static int schemata_has(const char *file_text, const char *line) {
  char want[1024], have[1024];
  normalize(line, want, sizeof want);
  char *copy = strdup(file_text);
  int found = 0;
  for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l && !found; l = strtok_r(NULL, "\n", &save)) {
    normalize(l, have, sizeof have);
    found = !strcmp(have, want);
  }
  free(copy);
  return found;
}

int rdt_apply(struct rdt_plan *p, pid_t pid, struct sh_err *e) {
  if (!p->present) return 0;
  size_t n = json_array_size(p->lines), i;
  json_t *v;
  struct stat st;
  int exists = stat(p->group, &st) == 0;
  if (!exists && (n > 0 || p->own_group)) {
    if (mkdir(p->group, 0755) < 0 && errno != EEXIST) return sh_errno(e, errno, "linux.intelRdt: create the resctrl group %s", p->group);
  } else if (!exists) {
    return sh_errf(e, "linux.intelRdt.closID: the resctrl group %s does not exist (and no schemata were given to create it)", p->group);
  }
  if (exists && !p->own_group && n > 0) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/schemata", p->group);
    char *text = sh_read_file(path, NULL, e);
    if (!text) return -1;
    json_array_foreach(p->lines, i, v) {
      if (!schemata_has(text, json_string_value(v))) {
        free(text);
        return sh_errf(e, "linux.intelRdt: the existing group %s has schemata that differ from %s", p->group, json_string_value(v));
      }
    }
    free(text);
  } else {
    json_array_foreach(p->lines, i, v) {
      char line[1100];
      snprintf(line, sizeof line, "%s\n", json_string_value(v));
      if (sh_write_at("linux.intelRdt", p->group, "schemata", line, e) < 0) return -1;
    }
  }
  char pidbuf[32];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
  if (sh_write_at("linux.intelRdt", p->group, "tasks", pidbuf, e) < 0) return -1;
  if (p->mon[0]) {
    if (mkdir(p->mon, 0755) < 0 && errno != EEXIST) return sh_errno(e, errno, "linux.intelRdt: create the monitoring group %s", p->mon);
    if (sh_write_at("linux.intelRdt", p->mon, "tasks", pidbuf, e) < 0) return -1;
  }
  return 0;
}

int rdt_remove(json_t *spec, const char *id, struct sh_err *e) {
  json_t *rdt = json_object_get(json_object_get(spec, "linux"), "intelRdt");
  if (!json_is_object(rdt)) return 0;
  struct rdt_plan p;
  memset(&p, 0, sizeof p);
  struct sh_err ignored;
  if (rdt_paths(rdt, id, &p, &ignored) < 0) return 0; /* resctrl gone: nothing left to remove */
  if (p.mon[0] && rmdir(p.mon) < 0 && errno != ENOENT) return sh_errno(e, errno, "linux.intelRdt: remove %s", p.mon);
  if (p.own_group && rmdir(p.group) < 0 && errno != ENOENT) return sh_errno(e, errno, "linux.intelRdt: remove %s", p.group);
  return 0;
}

void rdt_plan_free(struct rdt_plan *p) {
  json_decref(p->lines);
  p->lines = NULL;
}
