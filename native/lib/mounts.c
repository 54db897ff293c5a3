/* Mounts of config.json applied inside the rootfs before pivot_root. Every target is resolved with
 * openat2(RESOLVE_IN_ROOT), so a symlink in the image cannot point a mount outside the rootfs; the
 * mount is then made on /proc/self/fd/N of that resolved target. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "util.h"

int fs_open_in_root(int rootfd, const char *path, int flags, struct sh_err *e) {
  struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/') path++;
  if (!*path) path = ".";
  int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  if (fd < 0) return sh_errno(e, errno, "open %s in rootfs", path);
  return fd;
}

static int mkpath_depth(int rootfd, const char *path, int dir, int depth, struct sh_err *e);

/* A component that exists as a dangling symlink: create what it points to (inside the rootfs, since
 * every lookup is RESOLVE_IN_ROOT) and continue with the rest of the path. */
static int follow_dangling(int rootfd, int parent, const char *prefix_dir, const char *name, const char *rest, int dir,
                           int depth, struct sh_err *e) {
  char link[4096], next[8192];
  ssize_t n = readlinkat(parent, name, link, sizeof link - 1);
  if (n < 0) return sh_errno(e, errno, "mount target: %s/%s exists but cannot be created or opened", prefix_dir, name);
  link[n] = 0;
  if (link[0] == '/') snprintf(next, sizeof next, "%s%s%s", link, rest ? "/" : "", rest ? rest : "");
  else snprintf(next, sizeof next, "%s/%s%s%s", prefix_dir, link, rest ? "/" : "", rest ? rest : "");
  return mkpath_depth(rootfd, next, dir, depth + 1, e);
}

static int mkpath_depth(int rootfd, const char *path, int dir, int depth, struct sh_err *e) {
  if (depth > 40) return sh_errf(e, "mount target %s: too many levels of symbolic links", path);
  char prefix[4096];
  int parent = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
  if (parent < 0) return sh_errno(e, errno, "dup rootfs fd");
  size_t plen = 0;
  const char *p = path;
  while (*p == '/') p++;
  if (!*p) return parent;
  while (*p) {
    const char *s = strchr(p, '/');
    size_t n = s ? (size_t)(s - p) : strlen(p);
    int last = !s || !s[strspn(s, "/")];
    if (n == 0) {
      p = s + 1;
      continue;
    }
    if (plen + n + 2 >= sizeof prefix) {
      close(parent);
      return sh_errf(e, "mount target %s: path too long", path);
    }
    char prefix_dir[4096];
    snprintf(prefix_dir, sizeof prefix_dir, "%.*s", (int)plen, prefix);
    prefix[plen++] = '/';
    memcpy(prefix + plen, p, n);
    plen += n;
    prefix[plen] = 0;
    struct sh_err ignored;
    int fd = fs_open_in_root(rootfd, prefix, O_PATH, &ignored);
    if (fd < 0 && errno == ENOENT) {
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)n, p);
      int r;
      if (last && !dir) {
        r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (r >= 0) close(r);
      } else {
        r = mkdirat(parent, name, 0755);
      }
      if (r < 0 && errno == EEXIST) {
        const char *rest = s ? s + strspn(s, "/") : NULL;
        int fd2 = follow_dangling(rootfd, parent, prefix_dir, name, rest && *rest ? rest : NULL, dir, depth, e);
        close(parent);
        return fd2;
      }
      if (r < 0) {
        int err = errno;
        close(parent);
        return sh_errno(e, err, "create mount target %s in rootfs", prefix);
      }
      fd = fs_open_in_root(rootfd, prefix, O_PATH, e);
    } else if (fd < 0) {
      close(parent);
      return sh_errno(e, errno, "resolve mount target %s in rootfs", prefix);
    }
    if (fd < 0) {
      close(parent);
      return -1;
    }
    close(parent);
    parent = fd;
    if (!s) break;
    p = s + 1;
  }
  return parent;
}

int fs_mkpath_in_root(int rootfd, const char *path, int dir, struct sh_err *e) {
  return mkpath_depth(rootfd, path, dir, 0, e);
}

struct mopt {
  const char *name;
  int clear;
  unsigned long flag;
};
static const struct mopt mount_flags[] = {
    {"defaults", 0, 0},          {"ro", 0, MS_RDONLY},         {"rw", 1, MS_RDONLY},
    {"suid", 1, MS_NOSUID},      {"nosuid", 0, MS_NOSUID},     {"dev", 1, MS_NODEV},
    {"nodev", 0, MS_NODEV},      {"exec", 1, MS_NOEXEC},       {"noexec", 0, MS_NOEXEC},
    {"sync", 0, MS_SYNCHRONOUS}, {"async", 1, MS_SYNCHRONOUS}, {"dirsync", 0, MS_DIRSYNC},
    {"remount", 0, MS_REMOUNT},  {"mand", 0, MS_MANDLOCK},     {"nomand", 1, MS_MANDLOCK},
    {"atime", 1, MS_NOATIME},    {"noatime", 0, MS_NOATIME},   {"diratime", 1, MS_NODIRATIME},
    {"nodiratime", 0, MS_NODIRATIME}, {"relatime", 0, MS_RELATIME}, {"norelatime", 1, MS_RELATIME},
    {"strictatime", 0, MS_STRICTATIME}, {"nostrictatime", 1, MS_STRICTATIME}, {"bind", 0, MS_BIND},
    {"rbind", 0, MS_BIND | MS_REC}, {"lazytime", 0, MS_LAZYTIME}, {"nolazytime", 1, MS_LAZYTIME},
    {"silent", 0, MS_SILENT},    {"loud", 1, MS_SILENT},
};
static const struct mopt prop_flags[] = {
    {"private", 0, MS_PRIVATE},       {"rprivate", 0, MS_PRIVATE | MS_REC}, {"shared", 0, MS_SHARED},
    {"rshared", 0, MS_SHARED | MS_REC}, {"slave", 0, MS_SLAVE},            {"rslave", 0, MS_SLAVE | MS_REC},
    {"unbindable", 0, MS_UNBINDABLE}, {"runbindable", 0, MS_UNBINDABLE | MS_REC},
};
/* Recursive variants applied with mount_setattr(AT_RECURSIVE). */
static const struct mopt rec_attrs[] = {
    {"rro", 0, MOUNT_ATTR_RDONLY},     {"rrw", 1, MOUNT_ATTR_RDONLY},     {"rnosuid", 0, MOUNT_ATTR_NOSUID},
    {"rsuid", 1, MOUNT_ATTR_NOSUID},   {"rnodev", 0, MOUNT_ATTR_NODEV},   {"rdev", 1, MOUNT_ATTR_NODEV},
    {"rnoexec", 0, MOUNT_ATTR_NOEXEC}, {"rexec", 1, MOUNT_ATTR_NOEXEC},   {"rnodiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", 1, MOUNT_ATTR_NODIRATIME}, {"rnoatime", 0, MOUNT_ATTR_NOATIME}, {"rrelatime", 0, MOUNT_ATTR_RELATIME},
    {"rstrictatime", 0, MOUNT_ATTR_STRICTATIME}, {"rnosymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", 1, MOUNT_ATTR_NOSYMFOLLOW},
};
#define N(a) (sizeof a / sizeof a[0])

json_t *fs_mount_options_json(void) {
  json_t *a = json_array();
  for (size_t i = 0; i < N(mount_flags); i++) json_array_append_new(a, json_string(mount_flags[i].name));
  for (size_t i = 0; i < N(prop_flags); i++) json_array_append_new(a, json_string(prop_flags[i].name));
  for (size_t i = 0; i < N(rec_attrs); i++) json_array_append_new(a, json_string(rec_attrs[i].name));
  json_array_append_new(a, json_string("nosymfollow"));
  json_array_append_new(a, json_string("idmap"));
  json_array_append_new(a, json_string("ridmap"));
  return a;
}

struct parsed_opts {
  unsigned long flags, prop;
  struct mount_attr rattr;
  int has_rattr;
  char data[2048];
};

static int parse_options(json_t *opts, struct parsed_opts *o, struct sh_err *e) {
  memset(o, 0, sizeof *o);
  size_t i, k;
  json_t *v;
  json_array_foreach(opts, i, v) {
    const char *s = json_string_value(v);
    if (!s) continue;
    int done = 0;
    for (k = 0; !done && k < N(mount_flags); k++)
      if (!strcmp(s, mount_flags[k].name)) {
        if (mount_flags[k].clear) o->flags &= ~mount_flags[k].flag;
        else o->flags |= mount_flags[k].flag;
        done = 1;
      }
    for (k = 0; !done && k < N(prop_flags); k++)
      if (!strcmp(s, prop_flags[k].name)) {
        o->prop = prop_flags[k].flag;
        done = 1;
      }
    for (k = 0; !done && k < N(rec_attrs); k++)
      if (!strcmp(s, rec_attrs[k].name)) {
        if (rec_attrs[k].clear) o->rattr.attr_clr |= rec_attrs[k].flag;
        else o->rattr.attr_set |= rec_attrs[k].flag;
        if (rec_attrs[k].flag & (MOUNT_ATTR_RELATIME | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NOATIME))
          o->rattr.attr_clr |= MOUNT_ATTR__ATIME;
        o->has_rattr = 1;
        done = 1;
      }
    if (done) continue;
    if (!strcmp(s, "nosymfollow")) {
      o->rattr.attr_set |= MOUNT_ATTR_NOSYMFOLLOW; /* no MS_ flag before 5.10 headers: set it per mount */
      continue;
    }
    if (!strcmp(s, "idmap") || !strcmp(s, "ridmap")) continue; /* prepared by idmap_mounts.c */
    if (!strcmp(s, "tmpcopyup")) {
      sh_warn("mount option tmpcopyup is not supported, ignored");
      continue;
    }
    size_t len = strlen(o->data);
    if (len + strlen(s) + 2 >= sizeof o->data) return sh_errf(e, "mount options too long");
    snprintf(o->data + len, sizeof o->data - len, "%s%s", len ? "," : "", s);
  }
  return 0;
}

/* Flags a bind remount must keep because the kernel locks them on the source mount. */
static unsigned long locked_flags(const char *path) {
  struct statvfs sv;
  if (statvfs(path, &sv) < 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

static int remount_bind(const char *fdpath, const char *dest, unsigned long flags, struct sh_err *e) {
  unsigned long f = (flags & ~(MS_REC | MS_BIND | MS_REMOUNT)) | MS_BIND | MS_REMOUNT;
  if (mount(NULL, fdpath, NULL, f, NULL) == 0) return 0;
  if (errno == EPERM && mount(NULL, fdpath, NULL, f | locked_flags(fdpath), NULL) == 0) return 0;
  return sh_errno(e, errno, "mount: remount %s with its flags", dest);
}

static int after_mount(int rootfd, const char *dest, const struct parsed_opts *o, int bind, struct sh_err *e) {
  int need = (bind && (o->flags & ~(MS_BIND | MS_REC))) || o->prop || o->has_rattr;
  if (!need) return 0;
  int fd = fs_open_in_root(rootfd, dest, O_PATH, e);
  if (fd < 0) return -1;
  char fdpath[64];
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  int r = 0;
  if (bind && (o->flags & ~(MS_BIND | MS_REC))) r = remount_bind(fdpath, dest, o->flags, e);
  if (r == 0 && o->prop && mount(NULL, fdpath, NULL, o->prop, NULL) < 0)
    r = sh_errno(e, errno, "mount: set propagation of %s", dest);
  if (r == 0 && o->has_rattr) {
    struct mount_attr a = o->rattr;
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
      r = sh_errno(e, errno, "mount: mount_setattr (recursive options) on %s", dest);
  }
  close(fd);
  return r;
}

/* v1/hybrid: a tmpfs with one bind mount per hierarchy of the container's own cgroup. */
static int mount_cgroup(struct fs_ctx *c, const char *dest, const struct parsed_opts *o, struct sh_err *e) {
  const struct cg_layout *l = c->layout;
  char fdpath[64], sub[4096], host[4096];
  int fd;
  unsigned long ro = o->flags & MS_RDONLY;
  unsigned long base = (o->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME));
  if (l->mode == CG_MODE_V2) {
    if ((fd = fs_mkpath_in_root(c->rootfd, dest, 1, e)) < 0) return -1;
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    cg_dir(l, l->v2, c->cgroups_path, host, sizeof host);
    int r = mount(host, fdpath, NULL, MS_BIND | MS_REC, NULL);
    close(fd);
    if (r < 0) return sh_errno(e, errno, "mount: bind cgroup %s on %s", host, dest);
    struct parsed_opts ob = *o;
    ob.flags |= base;
    return after_mount(c->rootfd, dest, &ob, 1, e);
  }
  if ((fd = fs_mkpath_in_root(c->rootfd, dest, 1, e)) < 0) return -1;
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  int r = mount("tmpfs", fdpath, "tmpfs", base, "mode=755");
  close(fd);
  if (r < 0) return sh_errno(e, errno, "mount: tmpfs for cgroups on %s", dest);
  for (int i = 0; i < l->n; i++) {
    const char *name = strrchr(l->h[i].mount, '/');
    name = name ? name + 1 : l->h[i].mount;
    snprintf(sub, sizeof sub, "%s/%s", dest, name);
    cg_dir(l, i, c->cgroups_path, host, sizeof host);
    if (access(host, F_OK) < 0) continue;
    if ((fd = fs_mkpath_in_root(c->rootfd, sub, 1, e)) < 0) return -1;
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    r = mount(host, fdpath, NULL, MS_BIND | MS_REC, NULL);
    close(fd);
    if (r < 0) return sh_errno(e, errno, "mount: bind cgroup %s on %s", host, sub);
    struct parsed_opts ob;
    memset(&ob, 0, sizeof ob);
    ob.flags = base | ro | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    if (after_mount(c->rootfd, sub, &ob, 1, e) < 0) return -1;
  }
  if (ro) {
    if ((fd = fs_open_in_root(c->rootfd, dest, O_PATH, e)) < 0) return -1;
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    r = mount(NULL, fdpath, NULL, MS_REMOUNT | MS_RDONLY | base, "mode=755");
    close(fd);
    if (r < 0) return sh_errno(e, errno, "mount: remount cgroup tmpfs %s read-only", dest);
  }
  return 0;
}

static int do_mount(struct fs_ctx *c, json_t *m, size_t idx, struct sh_err *e) {
  const char *dest = json_string_value(json_object_get(m, "destination"));
  const char *type = json_string_value(json_object_get(m, "type"));
  const char *src = json_string_value(json_object_get(m, "source"));
  if (!dest || dest[0] != '/') return sh_errf(e, "mounts[%zu]: destination must be an absolute path", idx);
  struct parsed_opts o;
  if (parse_options(json_object_get(m, "options"), &o, e) < 0) return -1;
  int bind = (o.flags & MS_BIND) || (type && !strcmp(type, "bind"));
  if (type && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"))) return mount_cgroup(c, dest, &o, e);
  if (bind) o.flags |= MS_BIND;
  int is_dir = 1;
  if (bind) {
    struct stat st;
    if (!src || stat(src, &st) < 0) return sh_errno(e, src ? errno : EINVAL, "mount: bind source %s for %s", src ? src : "(none)", dest);
    is_dir = S_ISDIR(st.st_mode);
  }
  int fd = fs_mkpath_in_root(c->rootfd, dest, is_dir, e);
  if (fd < 0) return -1;
  char fdpath[64];
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  int r;
  int tree = c->idmaps && idx < c->idmaps->n ? c->idmaps->fd[idx] : -1;
  if (tree >= 0) {
    int ar = fs_idmap_attach(tree, fd, dest, e);
    close(fd);
    if (ar < 0) return -1;
    return after_mount(c->rootfd, dest, &o, bind, e);
  }
  if (bind) {
    r = mount(src, fdpath, NULL, o.flags & (MS_BIND | MS_REC), NULL);
  } else {
    r = mount(src ? src : type, fdpath, type, o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT), o.data[0] ? o.data : NULL);
    if (r < 0 && type && !strcmp(type, "sysfs") && (errno == EPERM || errno == EBUSY)) {
      /* sysfs cannot be mounted without owning the network namespace: bind the host's instead. */
      r = mount("/sys", fdpath, NULL, MS_BIND | MS_REC, NULL);
      if (r == 0) bind = 1, o.flags |= MS_BIND | MS_REC;
    }
  }
  int err = errno;
  close(fd);
  if (r < 0) return sh_errno(e, err, "mount: %s %s on %s", type ? type : "bind", src ? src : "", dest);
  return after_mount(c->rootfd, dest, &o, bind, e);
}

/* The mount point of the mount that holds `path` (the longest mount point prefixing it). */
static int containing_mount(const char *path, char *out, size_t outlen, struct sh_err *e) {
  char *info = sh_read_file("/proc/self/mountinfo", NULL, e);
  if (!info) return -1;
  size_t best = 0;
  out[0] = 0;
  for (char *save = NULL, *line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char mnt[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1) continue;
    sh_unescape_mountinfo(mnt);
    size_t n = strlen(mnt);
    int prefixes = !strcmp(mnt, "/") || (!strncmp(path, mnt, n) && (path[n] == '/' || path[n] == 0));
    if (prefixes && n >= best && n < outlen) {
      best = n;
      memcpy(out, mnt, n + 1);
    }
  }
  free(info);
  if (!out[0]) return sh_errf(e, "mount: no mount holds %s", path);
  return 0;
}

int fs_prepare_root(struct fs_ctx *c, struct sh_err *e) {
  const char *prop = json_string_value(json_object_get(json_object_get(c->spec, "linux"), "rootfsPropagation"));
  int keep_shared = prop && (!strcmp(prop, "shared") || !strcmp(prop, "rshared"));
  unsigned long initial = MS_SLAVE | MS_REC;
  if (prop && (!strcmp(prop, "private") || !strcmp(prop, "rprivate"))) initial = MS_PRIVATE | MS_REC;
  if (c->new_mntns && keep_shared) {
    /* Bidirectional mounts must stay in the host's peer groups, so the tree keeps the host's
     * propagation; only what pivot_root refuses to find shared is made private: the old root and
     * the mount holding the rootfs (the bind below then copies a private mount). The old root is
     * made rslave before it is detached, so nothing unmounted there reaches the host. */
    char holder[4096];
    if (mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0) return sh_errno(e, errno, "mount: make / private (rootfsPropagation %s)", prop);
    if (containing_mount(c->rootfs, holder, sizeof holder, e) < 0) return -1;
    if (mount(NULL, holder, NULL, MS_PRIVATE, NULL) < 0)
      return sh_errno(e, errno, "mount: make %s (holding the rootfs) private", holder);
  } else if (c->new_mntns && mount(NULL, "/", NULL, initial, NULL) < 0) {
    return sh_errno(e, errno, "mount: make / %s", initial & MS_PRIVATE ? "rprivate" : "rslave");
  }
  /* The rootfs must be a mount point of its own for pivot_root. */
  if (c->new_mntns && mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return sh_errno(e, errno, "mount: bind rootfs %s onto itself", c->rootfs);
  if (c->new_mntns && keep_shared && mount(NULL, c->rootfs, NULL, MS_PRIVATE, NULL) < 0)
    return sh_errno(e, errno, "mount: make the rootfs bind %s private", c->rootfs);
  c->rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0) return sh_errno(e, errno, "open rootfs %s", c->rootfs);
  return 0;
}

int fs_do_mounts(struct fs_ctx *c, struct sh_err *e) {
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c->spec, "mounts"), i, m) {
    if (do_mount(c, m, i, e) < 0) return -1;
  }
  return 0;
}
