#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int sh_id_valid(const char *id, struct sh_err *e) {
  if (!id || !*id) return sh_errf(e, "container id is empty");
  if (strlen(id) > 200) return sh_errf(e, "container id %.32s…: longer than 200 bytes", id);
  if (!strcmp(id, ".") || !strcmp(id, "..")) return sh_errf(e, "container id %s is not allowed", id);
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("_+-.", *p)))
      return sh_errf(e, "container id %s: only letters, digits and _+-. are allowed", id);
  return 0;
}

int sh_state_dir(const char *root, const char *id, char *out, size_t len) {
  return snprintf(out, len, "%s/%s", root, id) >= (int)len ? -1 : 0;
}

void sh_now_rfc3339(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, len - n, ".%09ldZ", ts.tv_nsec);
}

int sh_state_save(const char *root, const struct sh_state *s, struct sh_err *e) {
  char dir[PATH_MAX], path[PATH_MAX];
  sh_state_dir(root, s->id, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/state.json", dir);
  json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s,s:i,s:O}", "ociVersion", SH_OCI_VERSION, "id", s->id, "pid",
                        (int)s->pid, "startTime", (json_int_t)s->start_time, "bundle", s->bundle, "rootfs", s->rootfs,
                        "cgroupsPath", s->cgroups_path, "created", s->created, "owner", (int)s->owner, "annotations",
                        s->annotations ? s->annotations : json_object());
  if (!o) return sh_errf(e, "state: cannot encode %s", path);
  char *txt = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  int r = sh_write_file_atomic(path, txt, strlen(txt), 0600, e);
  free(txt);
  return r;
}

int sh_state_load(const char *root, const char *id, struct sh_state *s, struct sh_err *e) {
  memset(s, 0, sizeof *s);
  if (sh_id_valid(id, e) < 0) return -1;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/state.json", root, id);
  json_error_t je;
  json_t *o = json_load_file(path, 0, &je);
  if (!o) {
    char dir[PATH_MAX];
    sh_state_dir(root, id, dir, sizeof dir);
    if (access(dir, F_OK) < 0) return sh_errf(e, "container %s does not exist (no %s)", id, dir);
    return sh_errf(e, "container %s: read %s: %s", id, path, je.text);
  }
  snprintf(s->id, sizeof s->id, "%s", id);
  s->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
  s->start_time = (unsigned long long)json_integer_value(json_object_get(o, "startTime"));
  snprintf(s->bundle, sizeof s->bundle, "%s", json_string_value(json_object_get(o, "bundle")) ?: "");
  snprintf(s->rootfs, sizeof s->rootfs, "%s", json_string_value(json_object_get(o, "rootfs")) ?: "");
  snprintf(s->cgroups_path, sizeof s->cgroups_path, "%s", json_string_value(json_object_get(o, "cgroupsPath")) ?: "");
  snprintf(s->created, sizeof s->created, "%s", json_string_value(json_object_get(o, "created")) ?: "");
  s->owner = (uid_t)json_integer_value(json_object_get(o, "owner"));
  s->annotations = json_incref(json_object_get(o, "annotations"));
  json_decref(o);
  return 0;
}

void sh_state_free(struct sh_state *s) {
  json_decref(s->annotations);
  s->annotations = NULL;
}

const char *sh_state_status(const char *root, const struct sh_state *s) {
  if (s->pid <= 0) return "stopped";
  unsigned long long st = sh_proc_start_time(s->pid);
  if (st == 0 || st != s->start_time) return "stopped";
  /* A zombie has exited already. */
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)s->pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      char *p = strrchr(buf, ')');
      if (p && (p[2] == 'Z' || p[2] == 'X')) return "stopped";
    }
  }
  char fifo[PATH_MAX];
  snprintf(fifo, sizeof fifo, "%s/%s/exec.fifo", root, s->id);
  return access(fifo, F_OK) == 0 ? "created" : "running";
}

char *sh_state_json(const char *id, pid_t pid, const char *status, const char *bundle, json_t *annotations, int pretty) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "ociVersion", SH_OCI_VERSION, "id", id, "status", status, "bundle", bundle);
  if (strcmp(status, "stopped") != 0) json_object_set_new(o, "pid", json_integer(pid));
  if (annotations && json_object_size(annotations) > 0) json_object_set(o, "annotations", annotations);
  char *s = json_dumps(o, pretty ? JSON_INDENT(2) : JSON_COMPACT);
  json_decref(o);
  return s;
}

json_t *sh_state_config(const char *root, const char *id, struct sh_err *e) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/config.json", root, id);
  json_error_t je;
  json_t *c = json_load_file(path, 0, &je);
  if (!c) sh_errf(e, "container %s: read %s: %s", id, path, je.text);
  return c;
}

int sh_state_remove(const char *root, const char *id, struct sh_err *e) {
  char dir[PATH_MAX];
  sh_state_dir(root, id, dir, sizeof dir);
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : sh_errno(e, errno, "remove state %s", dir);
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")))
      unlinkat(dirfd(d), de->d_name, 0);
  closedir(d);
  if (rmdir(dir) < 0 && errno != ENOENT) return sh_errno(e, errno, "remove state %s", dir);
  return 0;
}
