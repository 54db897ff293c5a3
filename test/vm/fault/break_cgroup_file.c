/*
 * Fault injection for the cgroup2 VM self-check (test/vm/test-cgroup2.sh), loaded with LD_PRELOAD.
 * When SHOAL_VM_BREAK_CGROUP_FILE names a cgroup interface file (e.g. "pids.max"), every open of
 * that file for writing under /sys/fs/cgroup is redirected to the same name with "-broken"
 * appended: exactly what a typo in the file name would do. The kernel answers as it would for the
 * typo (ENOENT), and the suite running in the VM must notice. Only the self-check sets the
 * variable; without it every call goes straight to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char CGROUP_ROOT[] = "/sys/fs/cgroup/";

/* The path to open instead of `path`, in `buf`, or `path` itself when it is not the target. */
static const char *redirect(const char *path, int writing, char *buf, size_t len) {
  const char *target = getenv("SHOAL_VM_BREAK_CGROUP_FILE");
  if (!writing || !target || !*target || !path) return path;
  if (strncmp(path, CGROUP_ROOT, sizeof CGROUP_ROOT - 1) != 0) return path;
  const char *base = strrchr(path, '/');
  if (!base || strcmp(base + 1, target) != 0) return path;
  int n = snprintf(buf, len, "%s-broken", path);
  return n > 0 && (size_t)n < len ? buf : path;
}

static int writes(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }

static int mode_of(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  char buf[PATH_MAX];
  return NEXT(open)(redirect(path, writes(flags), buf, sizeof buf), flags, mode);
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  char buf[PATH_MAX];
  return NEXT(open64)(redirect(path, writes(flags), buf, sizeof buf), flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  char buf[PATH_MAX];
  return NEXT(openat)(dirfd, redirect(path, writes(flags), buf, sizeof buf), flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = mode_of(flags, ap);
  va_end(ap);
  char buf[PATH_MAX];
  return NEXT(openat64)(dirfd, redirect(path, writes(flags), buf, sizeof buf), flags, mode);
}

/* The _FORTIFY_SOURCE entry points that callers compiled with fortification use. */
int __open_2(const char *path, int flags) {
  char buf[PATH_MAX];
  return NEXT(__open_2)(redirect(path, writes(flags), buf, sizeof buf), flags);
}

int __open64_2(const char *path, int flags) {
  char buf[PATH_MAX];
  return NEXT(__open64_2)(redirect(path, writes(flags), buf, sizeof buf), flags);
}

int __openat_2(int dirfd, const char *path, int flags) {
  char buf[PATH_MAX];
  return NEXT(__openat_2)(dirfd, redirect(path, writes(flags), buf, sizeof buf), flags);
}

int __openat64_2(int dirfd, const char *path, int flags) {
  char buf[PATH_MAX];
  return NEXT(__openat64_2)(dirfd, redirect(path, writes(flags), buf, sizeof buf), flags);
}

/* fopen opens through libc's internal entry, which LD_PRELOAD cannot reach: wrap it too. */
static int fopen_writes(const char *mode) { return mode && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+')); }

FILE *fopen(const char *path, const char *mode) {
  char buf[PATH_MAX];
  return NEXT(fopen)(redirect(path, fopen_writes(mode), buf, sizeof buf), mode);
}

FILE *fopen64(const char *path, const char *mode) {
  char buf[PATH_MAX];
  return NEXT(fopen64)(redirect(path, fopen_writes(mode), buf, sizeof buf), mode);
}
