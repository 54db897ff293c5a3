/* Creating, configuring, entering and removing one cgroup in every hierarchy of the layout. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

int cg_write_file(const char *dir, const char *file, const char *value, struct sh_err *e) {
  return sh_write_at("cgroup", dir, file, value, e);
}

int cg_read_file(const char *dir, const char *file, char *buf, size_t len, struct sh_err *e) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sh_errno(e, errno, "cgroup: open %s", path);
  ssize_t n = read(fd, buf, len - 1);
  int err = errno;
  close(fd);
  if (n < 0) return sh_errno(e, err, "cgroup: read %s", path);
  buf[n] = 0;
  return 0;
}

int cg_mkdir_missing(const char *dir, struct sh_err *e) {
  struct stat st;
  if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return sh_errno(e, errno, "cgroup: mkdir %s", dir);
  return 0;
}

int cg_path_valid(const char *rel, struct sh_err *e) {
  if (!rel) return sh_errf(e, "cgroup: no cgroupsPath");
  while (*rel == '/') rel++;
  if (!*rel) return sh_errf(e, "cgroup: cgroupsPath must name a cgroup below the root");
  if (strlen(rel) > 1024) return sh_errf(e, "cgroup: cgroupsPath too long");
  for (const char *p = rel; *p;) {
    const char *s = strchr(p, '/');
    size_t n = s ? (size_t)(s - p) : strlen(p);
    if ((n == 2 && strncmp(p, "..", 2) == 0) || (n == 1 && p[0] == '.'))
      return sh_errf(e, "cgroup: cgroupsPath %s has a . or .. component", rel);
    if (!s) break;
    p = s + 1;
  }
  if (strchr(rel, ':')) return sh_errf(e, "cgroup: cgroupsPath %s looks like a systemd slice:prefix:name; only the cgroupfs driver is supported", rel);
  return 0;
}

int cg_dir(const struct cg_layout *l, int i, const char *rel, char *out, size_t outlen) {
  while (*rel == '/') rel++;
  int n = snprintf(out, outlen, "%s/%s", l->h[i].mount, rel);
  while (n > 1 && out[n - 1] == '/') out[--n] = 0;
  return n >= (int)outlen ? -1 : 0;
}

int cg_create(const struct cg_layout *l, const char *rel, struct sh_err *e) {
  if (cg_path_valid(rel, e) < 0) return -1;
  for (int i = 0; i < l->n; i++) {
    if (l->h[i].version == 1) {
      if (cg_v1_prepare_dir(l->h[i].mount, l->h[i].opts, rel, e) < 0) return -1;
    } else {
      if (cg_v2_enable_controllers(l->h[i].mount, rel, e) < 0) return -1;
    }
  }
  return 0;
}

static int hier_of(const struct cg_layout *l, const struct cg_write *w) {
  return cg_layout_find(l, w->controller);
}

int cg_apply_plan(const struct cg_layout *l, const char *rel, const struct cg_plan *p, struct sh_err *e) {
  char dir[PATH_MAX], path[PATH_MAX];
  /* Validate every target before writing any, so a bad update changes nothing. */
  for (int k = 0; k < p->n; k++) {
    int i = hier_of(l, &p->w[k]);
    if (i < 0) return sh_errf(e, "cgroup: no hierarchy holds controller %s (for %s)", p->w[k].controller, p->w[k].file);
    cg_dir(l, i, rel, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, p->w[k].file);
    if (access(path, W_OK) < 0 && !(errno == ENOENT && strcmp(p->w[k].file, "blkio.weight") == 0))
      return sh_errno(e, errno, "cgroup: check %s", path);
  }
  /* Some pairs must be written in an order that depends on the current values (memory limit and
   * memory+swap on v1): writes refused with EINVAL are retried once after the others. */
  int retry[CG_MAX_WRITES], nretry = 0;
  for (int k = 0; k < p->n; k++) {
    const struct cg_write *w = &p->w[k];
    cg_dir(l, hier_of(l, w), rel, dir, sizeof dir);
    const char *file = w->file;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (strcmp(file, "blkio.weight") == 0 && access(path, F_OK) < 0) file = "blkio.bfq.weight";
    if (cg_write_file(dir, file, w->value, e) < 0) {
      if (errno == EINVAL || errno == EBUSY) retry[nretry++] = k;
      else return -1;
    }
  }
  for (int r = 0; r < nretry; r++) {
    const struct cg_write *w = &p->w[retry[r]];
    cg_dir(l, hier_of(l, w), rel, dir, sizeof dir);
    if (cg_write_file(dir, w->file, w->value, e) < 0) return -1;
  }
  return 0;
}

int cg_enter(const struct cg_layout *l, const char *rel, pid_t pid, struct sh_err *e) {
  char dir[PATH_MAX], val[32];
  snprintf(val, sizeof val, "%d", (int)pid);
  for (int i = 0; i < l->n; i++) {
    cg_dir(l, i, rel, dir, sizeof dir);
    if (cg_write_file(dir, "cgroup.procs", val, e) < 0) {
      if (l->h[i].version == 2 && errno == EBUSY)
        return sh_errf(e, "cgroup: move pid %d into %s: cgroup v2 forbids processes in a cgroup whose controllers are enabled for children", (int)pid, dir);
      return -1;
    }
  }
  return 0;
}

/* Removes dir and every cgroup below it, deepest first; retries EBUSY briefly while dying tasks go. */
static int rmdir_tree(const char *dir, struct sh_err *e) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : sh_errno(e, errno, "cgroup: open %s", dir);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_type != DT_DIR || de->d_name[0] == '.') continue;
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
    if (rmdir_tree(sub, e) < 0) {
      closedir(d);
      return -1;
    }
  }
  closedir(d);
  struct sh_backoff b = {0};
  for (;;) {
    if (rmdir(dir) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY || sh_backoff_wait(&b, 1000) < 0) return sh_errno(e, errno, "cgroup: rmdir %s", dir);
  }
}

int cg_destroy(const struct cg_layout *l, const char *rel, struct sh_err *e) {
  if (cg_path_valid(rel, e) < 0) return -1;
  char dir[PATH_MAX];
  for (int i = 0; i < l->n; i++) {
    cg_dir(l, i, rel, dir, sizeof dir);
    if (access(dir, F_OK) < 0) continue;
    int r = l->h[i].version == 2 ? cg_v2_kill(dir, e) : cg_v1_kill(dir, e);
    if (r < 0) return -1;
  }
  for (int i = 0; i < l->n; i++) {
    cg_dir(l, i, rel, dir, sizeof dir);
    if (rmdir_tree(dir, e) < 0) return -1;
  }
  return 0;
}

int cg_oom_kills(const struct cg_layout *l, const char *rel, long long *count, struct sh_err *e) {
  int i = cg_layout_find(l, "memory");
  if (i < 0) return sh_errf(e, "cgroup: the memory controller is not mounted");
  char dir[PATH_MAX];
  cg_dir(l, i, rel, dir, sizeof dir);
  return l->h[i].version == 2 ? cg_v2_oom_kills(dir, count, e) : cg_v1_oom_kills(dir, count, e);
}

int cg_signal_all(const struct cg_layout *l, const char *rel, int sig, struct sh_err *e) {
  char dir[PATH_MAX], path[PATH_MAX];
  for (int i = 0; i < l->n; i++) {
    cg_dir(l, i, rel, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    int pid;
    while (fscanf(f, "%d", &pid) == 1)
      if (kill(pid, sig) < 0 && errno != ESRCH) {
        fclose(f);
        return sh_errno(e, errno, "kill pid %d of cgroup %s", pid, dir);
      }
    fclose(f);
    return 0;
  }
  return sh_errf(e, "cgroup %s: not found in any hierarchy", rel);
}

int cg_devices_apply(const struct cg_layout *l, const char *rel, json_t *resources, json_t *linux_devices, struct sh_err *e) {
  if (cg_controller_version(l, "devices") == 1 || l->v2 < 0) return 0;
  char dir[PATH_MAX];
  cg_dir(l, l->v2, rel, dir, sizeof dir);
  return cg_v2_devices_apply(dir, resources, linux_devices, e);
}
