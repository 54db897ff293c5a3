/* The container's filesystem: mounts inside the rootfs (mounts.c), /dev (devices.c), pivot_root,
 * masked and read-only paths (rootfs.c). */
#ifndef SHOAL_FS_H
#define SHOAL_FS_H
#include <jansson.h>

#include "cgroup.h"
#include "err.h"

/* Idmapped bind mounts prepared by the runtime (idmap_mounts.c): fd[i] is the detached, idmapped
 * clone for mounts[i], or -1. */
struct fs_idmaps {
  size_t n;
  int *fd;
};

struct fs_ctx {
  const char *rootfs;      /* absolute host path of the rootfs */
  int rootfd;              /* O_PATH fd of the rootfs mount, set by fs_prepare_root */
  json_t *spec;
  const char *cgroups_path;
  const struct cg_layout *layout;
  int userns;              /* in a new user namespace: bind devices instead of mknod */
  int new_mntns;
  const struct fs_idmaps *idmaps;
};

/* Opens path (relative to the rootfs) with every symlink resolved inside the rootfs. */
int fs_open_in_root(int rootfd, const char *path, int flags, struct sh_err *e);
/* Creates path's missing components inside the rootfs (directories, or a file for the last one
 * when !dir) and returns an O_PATH fd to it. */
int fs_mkpath_in_root(int rootfd, const char *path, int dir, struct sh_err *e);

int fs_prepare_root(struct fs_ctx *c, struct sh_err *e);
int fs_do_mounts(struct fs_ctx *c, struct sh_err *e);
int fs_create_devices(struct fs_ctx *c, int default_devices, struct sh_err *e);
int fs_pivot_root(struct fs_ctx *c, struct sh_err *e);
/* After pivot_root: sysctl, masked and read-only paths, read-only root, rootfsPropagation. */
int fs_finalize(struct fs_ctx *c, struct sh_err *e);
int fs_sysctl(json_t *sysctl, struct sh_err *e);
/* Validates mounts[].uidMappings/gidMappings and idmap/ridmap, and prepares each such mount. */
int fs_idmap_prepare(json_t *spec, int userns, struct fs_idmaps *out, struct sh_err *e);
/* Moves a prepared mount onto the target (an fd of the resolved mount point). */
int fs_idmap_attach(int tree, int target, const char *dest, struct sh_err *e);
void fs_idmap_release(struct fs_idmaps *m);
/* Recognised mount options (for `features`). */
json_t *fs_mount_options_json(void);
#endif
