/* pivot_root into the rootfs and what follows it: sysctl, masked and read-only paths, read-only root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "util.h"

int fs_pivot_root(struct fs_ctx *c, struct sh_err *e) {
  if (!c->new_mntns) {
    if (chroot(c->rootfs) < 0) return sh_errno(e, errno, "chroot %s (no mount namespace)", c->rootfs);
    if (chdir("/") < 0) return sh_errno(e, errno, "chdir / after chroot");
    return 0;
  }
  /* pivot_root(".", "."): the old root ends up stacked on "/", then is detached. Before detaching,
   * the old root's tree is made rslave so no unmount reaches the host; that must be done from a
   * directory of the old root itself: "." in the new root names the new root's tree (mount(2)
   * does not climb onto a mount stacked on the working directory), which would turn bidirectional
   * mounts into slaves. */
  int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (oldroot < 0) return sh_errno(e, errno, "open the old root");
  if (fchdir(c->rootfd) < 0) {
    close(oldroot);
    return sh_errno(e, errno, "chdir %s", c->rootfs);
  }
  if (syscall(SYS_pivot_root, ".", ".") < 0) {
    close(oldroot);
    return sh_errno(e, errno, "pivot_root %s", c->rootfs);
  }
  int r = fchdir(oldroot);
  int err = errno;
  close(oldroot);
  if (r < 0) return sh_errno(e, err, "pivot_root: chdir into the old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) return sh_errno(e, errno, "pivot_root: make old root rslave");
  if (umount2(".", MNT_DETACH) < 0) return sh_errno(e, errno, "pivot_root: detach old root");
  if (chdir("/") < 0) return sh_errno(e, errno, "chdir / after pivot_root");
  close(c->rootfd);
  c->rootfd = -1;
  return 0;
}

int fs_sysctl(json_t *sysctl, struct sh_err *e) {
  const char *key;
  json_t *v;
  json_object_foreach(sysctl, key, v) {
    const char *val = json_string_value(v);
    if (!val || strstr(key, "..")) return sh_errf(e, "linux.sysctl.%s: bad key or value", key);
    char path[512];
    int n = snprintf(path, sizeof path, "/proc/sys/%s", key);
    for (char *p = path + 10; p < path + n; p++)
      if (*p == '.') *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sh_errno(e, errno, "sysctl %s: open %s", key, path);
    int r = sh_write_all(fd, val, strlen(val));
    int err = errno;
    close(fd);
    if (r < 0) return sh_errno(e, err, "sysctl %s: write \"%s\"", key, val);
  }
  return 0;
}

static int mask_path(const char *path, struct sh_err *e) {
  struct stat st;
  if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : sh_errno(e, errno, "maskedPaths: stat %s", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0,mode=0") < 0) return sh_errno(e, errno, "maskedPaths: mount tmpfs over %s", path);
  } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
    if (errno == ENOENT) return 0;
    return sh_errno(e, errno, "maskedPaths: bind /dev/null over %s", path);
  }
  return 0;
}

static int readonly_path(const char *path, struct sh_err *e) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return 0;
    return sh_errno(e, errno, "readonlyPaths: bind %s", path);
  }
  struct statvfs sv;
  unsigned long locked = 0;
  if (statvfs(path, &sv) == 0) {
    if (sv.f_flag & ST_NOSUID) locked |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) locked |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
  }
  if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC | locked, NULL) < 0)
    return sh_errno(e, errno, "readonlyPaths: remount %s read-only", path);
  return 0;
}

int fs_finalize(struct fs_ctx *c, struct sh_err *e) {
  json_t *linux_obj = json_object_get(c->spec, "linux");
  if (fs_sysctl(json_object_get(linux_obj, "sysctl"), e) < 0) return -1;
  size_t i;
  json_t *p;
  json_array_foreach(json_object_get(linux_obj, "maskedPaths"), i, p) {
    if (json_string_value(p) && mask_path(json_string_value(p), e) < 0) return -1;
  }
  json_array_foreach(json_object_get(linux_obj, "readonlyPaths"), i, p) {
    if (json_string_value(p) && readonly_path(json_string_value(p), e) < 0) return -1;
  }
  if (json_is_true(json_object_get(json_object_get(c->spec, "root"), "readonly"))) {
    struct statvfs sv;
    unsigned long locked = 0;
    if (statvfs("/", &sv) == 0) {
      if (sv.f_flag & ST_NOSUID) locked |= MS_NOSUID;
      if (sv.f_flag & ST_NODEV) locked |= MS_NODEV;
      if (sv.f_flag & ST_NOEXEC) locked |= MS_NOEXEC;
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked, NULL) < 0)
      return sh_errno(e, errno, "root.readonly: remount / read-only");
  }
  const char *prop = json_string_value(json_object_get(linux_obj, "rootfsPropagation"));
  if (prop && c->new_mntns) {
    unsigned long f = 0;
    if (!strcmp(prop, "shared") || !strcmp(prop, "rshared")) f = MS_SHARED;
    else if (!strcmp(prop, "slave") || !strcmp(prop, "rslave")) f = MS_SLAVE;
    else if (!strcmp(prop, "private") || !strcmp(prop, "rprivate")) f = MS_PRIVATE;
    else if (!strcmp(prop, "unbindable") || !strcmp(prop, "runbindable")) f = MS_UNBINDABLE;
    else return sh_errf(e, "linux.rootfsPropagation: unknown value %s", prop);
    if (mount(NULL, "/", NULL, f | MS_REC, NULL) < 0) return sh_errno(e, errno, "rootfsPropagation %s on /", prop);
  }
  return 0;
}
