#include "exitstatus.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jsonscan.h"
#include "util.h"

void exit_status_from_wait(struct exit_status *st, int wstatus, long long now_ns) {
  st->exited_at_ns = now_ns;
  if (WIFSIGNALED(wstatus)) {
    st->signal = WTERMSIG(wstatus);
    st->exit_code = 128 + st->signal;
  } else {
    st->signal = 0;
    st->exit_code = WEXITSTATUS(wstatus);
  }
}

size_t exit_status_json(const struct exit_status *st, char *out, size_t cap) {
  int n = snprintf(out, cap, "{\"exit_code\":%d,\"signal\":%d,\"exited_at_ns\":\"%lld\",\"oom_killed\":%s}",
                   st->exit_code, st->signal, st->exited_at_ns, st->oom_killed ? "true" : "false");
  return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

/* The "oom_kill N" line both memory.oom_control (v1, kernel >= 4.13) and memory.events (v2) have. */
static long long read_oom_kills(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  for (char *line = buf; line != NULL && *line != '\0';) {
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    if (strncmp(line, "oom_kill ", 9) == 0) return strtoll(line + 9, NULL, 10);
    line = next;
  }
  return -1;
}

/* linux.cgroupsPath from config.json, copied into out; empty when absent or unreadable (the OOM
 * check is then skipped; the runtime's create reports a bad config.json itself). */
static void cgroups_path_from_bundle(const char *bundle, char *out, size_t cap) {
  out[0] = '\0';
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", bundle);
  struct sh_err e;
  size_t len;
  char *text = sh_read_file(path, &len, &e);
  if (text == NULL) return;
  static const char *const keys[] = {"linux", "cgroupsPath"};
  if (json_scan_string(text, len, keys, 2, out, cap) < 0) out[0] = '\0';
  free(text);
}

void oom_probe_init(struct oom_probe *p, const char *cgroup_path, const char *bundle) {
  p->file[0] = '\0';
  p->baseline = 0;
  char rel[2048];
  if (cgroup_path != NULL) snprintf(rel, sizeof rel, "%s", cgroup_path);
  else if (bundle != NULL) cgroups_path_from_bundle(bundle, rel, sizeof rel);
  else return;
  /* Only the cgroupfs form (a path); "slice:prefix:name" belongs to the systemd driver. */
  if (rel[0] == '\0' || strchr(rel, ':') != NULL) return;
  const char *r = rel;
  while (*r == '/') r++;
  char cand[3][4096];
  int n = 0;
  if (strncmp(rel, "/sys/fs/cgroup/", 15) == 0) {
    snprintf(cand[n++], sizeof cand[0], "%s/memory.oom_control", rel);
    snprintf(cand[n++], sizeof cand[0], "%s/memory.events", rel);
  } else {
    snprintf(cand[n++], sizeof cand[0], "/sys/fs/cgroup/memory/%s/memory.oom_control", r);
    snprintf(cand[n++], sizeof cand[0], "/sys/fs/cgroup/%s/memory.events", r);
    snprintf(cand[n++], sizeof cand[0], "/sys/fs/cgroup/unified/%s/memory.events", r);
  }
  for (int i = 0; i < n; i++) {
    long long v = read_oom_kills(cand[i]);
    if (v >= 0) {
      memcpy(p->file, cand[i], sizeof p->file);
      p->baseline = v;
      return;
    }
  }
}

bool oom_probe_killed(const struct oom_probe *p) {
  if (p->file[0] == '\0') return false;
  return read_oom_kills(p->file) > p->baseline;
}
