/* Seccomp filters as BPF programs, and a cache of them by profile.
 *
 * libseccomp takes ~18 ms of CPU here to turn the default profile (≈350 syscall names) into BPF:
 * more than the rest of a container's create and start together. The same profile gives the same
 * program for the same libseccomp version, kernel API level and architecture, so the program is
 * kept under the runtime root in CACHE_DIR, one file per profile. A file is named by a hash of its
 * key (the profile's canonical JSON and those three) and holds the whole key: one whose key differs
 * (a hash collision), that is malformed, or that is not a regular file of ours that only we may
 * write counts as absent and is replaced. Writing the cache is best effort; reading a good entry
 * replaces building the filter, exporting it and loading it with libseccomp. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "security.h"
#include "util.h"

/* Cannot be a container id (no '@' there) and `list` skips names starting with '.'. */
#define CACHE_DIR ".@seccomp-bpf"
#define CACHE_MAGIC "SHOALBPF"
#define CACHE_FORMAT 1u
/* Enough for every profile a node runs; a runaway set of distinct profiles stops being cached. */
#define CACHE_MAX_ENTRIES 256
#define CACHE_MAX_BYTES (4u << 20)
#define BPF_MAX_INSNS 4096u

void seccomp_prog_free(struct seccomp_prog *p) {
  free(p->insns);
  p->insns = NULL;
  p->len = 0;
  p->flags = 0;
}

int seccomp_prog_export(scmp_filter_ctx ctx, int listener, struct seccomp_prog *out, struct sh_err *e) {
  memset(out, 0, sizeof *out);
  static const struct {
    enum scmp_filter_attr attr;
    unsigned long flag;
  } attrs[] = {{SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC},
               {SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG},
               {SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW}};
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
    uint32_t v = 0;
    int r = seccomp_attr_get(ctx, attrs[i].attr, &v);
    if (r < 0) return sh_errno(e, -r, "seccomp: read filter attribute %d", (int)attrs[i].attr);
    if (v) out->flags |= attrs[i].flag;
  }
  /* TSYNC with a listener: the kernel wants TSYNC_ESRCH too. */
  if (listener && (out->flags & SECCOMP_FILTER_FLAG_TSYNC)) out->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  int mfd = memfd_create("shoal-seccomp-bpf", MFD_CLOEXEC);
  if (mfd < 0) return sh_errno(e, errno, "seccomp: memfd_create for the BPF program");
  int r = seccomp_export_bpf(ctx, mfd);
  if (r < 0) {
    close(mfd);
    return sh_errno(e, -r, "seccomp: export the filter as BPF");
  }
  off_t size = lseek(mfd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 || size / (off_t)sizeof(struct sock_filter) > BPF_MAX_INSNS) {
    int err = size < 0 ? errno : EINVAL;
    close(mfd);
    return sh_errno(e, err, "seccomp: exported BPF program of %lld bytes", (long long)size);
  }
  out->insns = malloc((size_t)size);
  ssize_t n = out->insns ? pread(mfd, out->insns, (size_t)size, 0) : -1;
  int err = out->insns ? errno : ENOMEM;
  close(mfd);
  if (n != size) {
    seccomp_prog_free(out);
    return sh_errno(e, n < 0 ? err : EIO, "seccomp: read back the exported BPF program");
  }
  out->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
  return 0;
}

int seccomp_prog_load(const struct seccomp_prog *p, unsigned long extra_flags, struct sh_err *e) {
  struct sock_fprog prog = {p->len, p->insns};
  unsigned long flags = p->flags | extra_flags;
  int r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (r < 0) return sh_errno(e, errno, "seccomp: load the filter (%u instructions, flags 0x%lx)", (unsigned)p->len, flags);
  return r;
}

/* The cache key: what decides the program libseccomp makes. NULL when out of memory. */
static char *cache_key(json_t *sc) {
  char *profile = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS);
  if (!profile) return NULL;
  const struct scmp_version *v = seccomp_version();
  char *key = NULL;
  if (asprintf(&key, "%s\nlibseccomp %u.%u.%u api %u arch %u format %u", profile, v->major, v->minor, v->micro,
               seccomp_api_get(), seccomp_arch_native(), CACHE_FORMAT) < 0)
    key = NULL;
  free(profile);
  return key;
}

static uint64_t fnv1a64(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

struct entry_head {
  char magic[8];
  uint32_t format;
  uint32_t key_len;
  uint64_t flags;
  uint32_t insns;
  uint32_t reserved;
};

/* Ours, and nobody else may write it: only then is what it holds trusted. */
static int private_to_us(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 022) == 0;
}

/* The cache directory, made if missing; -1 when it cannot be used (then nothing is cached). */
static int open_cache_dir(const char *root) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s", root, CACHE_DIR) >= (int)sizeof path) return -1;
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 && errno == ENOENT && (mkdir(path, 0700) == 0 || errno == EEXIST))
    dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return -1;
  if (!private_to_us(dfd)) {
    close(dfd);
    return -1;
  }
  return dfd;
}

/* The program stored under name for key, or -1 (absent, or not to be trusted). */
static int read_entry(int dfd, const char *name, const char *key, size_t key_len, struct seccomp_prog *out) {
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  char *buf = NULL;
  int ok = -1;
  if (!private_to_us(fd) || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct entry_head) ||
      st.st_size > (off_t)CACHE_MAX_BYTES)
    goto out;
  buf = malloc((size_t)st.st_size);
  if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) goto out;
  struct entry_head h;
  memcpy(&h, buf, sizeof h);
  size_t prog_bytes = (size_t)h.insns * sizeof(struct sock_filter);
  if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.format != CACHE_FORMAT || h.key_len != key_len || h.insns == 0 ||
      h.insns > BPF_MAX_INSNS || (size_t)st.st_size != sizeof h + key_len + prog_bytes ||
      memcmp(buf + sizeof h, key, key_len) != 0)
    goto out;
  out->insns = malloc(prog_bytes);
  if (!out->insns) goto out;
  memcpy(out->insns, buf + sizeof h + key_len, prog_bytes);
  out->len = (unsigned short)h.insns;
  out->flags = (unsigned long)h.flags;
  ok = 0;
out:
  free(buf);
  close(fd);
  return ok;
}

/* The entries; temp files a killed writer left (older than a minute) are removed on the way. */
static size_t count_entries(int dfd) {
  int dup_fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (!d) {
    if (dup_fd >= 0) close(dup_fd);
    return CACHE_MAX_ENTRIES;
  }
  size_t n = 0;
  struct dirent *de;
  time_t now = time(NULL);
  while ((de = readdir(d))) {
    if (de->d_name[0] != '.') {
      n++;
      continue;
    }
    struct stat st;
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_mtime < now - 60)
      unlinkat(dfd, de->d_name, 0);
  }
  closedir(d);
  return n;
}

/* Best effort: a temp file renamed over name, so readers see a whole entry or none. */
static void write_entry(int dfd, const char *name, const char *key, size_t key_len, const struct seccomp_prog *p) {
  if (count_entries(dfd) >= CACHE_MAX_ENTRIES) return;
  struct entry_head h = {.format = CACHE_FORMAT, .key_len = (uint32_t)key_len, .flags = p->flags, .insns = p->len};
  memcpy(h.magic, CACHE_MAGIC, 8);
  char tmp[64];
  snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid());
  int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int ok = sh_write_all(fd, &h, sizeof h) == 0 && sh_write_all(fd, key, key_len) == 0 &&
           sh_write_all(fd, p->insns, (size_t)p->len * sizeof(struct sock_filter)) == 0;
  close(fd);
  if (!ok || renameat(dfd, tmp, dfd, name) < 0) unlinkat(dfd, tmp, 0);
}

int seccomp_prog_get(json_t *sc, const char *root, struct seccomp_prog *out, struct sh_err *e) {
  memset(out, 0, sizeof *out);
  if (!sc || json_is_null(sc)) return 0;
  char *key = cache_key(sc);
  if (!key) return sh_errf(e, "seccomp: out of memory");
  size_t key_len = strlen(key);
  char name[32];
  snprintf(name, sizeof name, "%016llx", (unsigned long long)fnv1a64(key, key_len));
  int dfd = root ? open_cache_dir(root) : -1;
  if (dfd >= 0 && read_entry(dfd, name, key, key_len, out) == 0) {
    close(dfd);
    free(key);
    return 0;
  }
  scmp_filter_ctx ctx;
  int r = seccomp_build(sc, &ctx, e);
  if (r == 0) {
    r = seccomp_prog_export(ctx, 0, out, e);
    seccomp_release(ctx);
  }
  if (r == 0 && dfd >= 0) write_entry(dfd, name, key, key_len, out);
  if (dfd >= 0) close(dfd);
  free(key);
  return r;
}
