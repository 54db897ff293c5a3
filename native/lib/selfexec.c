/* Protection of the runtime binary (CVE-2019-5736 class): a process in the container must not be
 * able to reach the runtime's executable through /proc/PID/exe and overwrite it. The runtime
 * re-executes itself from a sealed memfd copy (writes are refused by the seals) before it touches a
 * container, and stays non-dumpable so that /proc/PID/exe, /proc/PID/mem and the fds cannot be
 * opened by container processes without CAP_SYS_PTRACE over us. */
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "selfexec.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

int sh_is_sealed_self(void) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int seals = fcntl(fd, F_GET_SEALS);
  close(fd);
  return seals >= 0 && (seals & SEALS) == SEALS;
}

int sh_reexec_sealed(char **argv, struct sh_err *e) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return sh_errno(e, errno, "prctl PR_SET_DUMPABLE 0");
  if (sh_is_sealed_self()) return 0;
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (src < 0) return sh_errno(e, errno, "self-protection: open /proc/self/exe");
  struct stat st;
  if (fstat(src, &st) < 0) {
    close(src);
    return sh_errno(e, errno, "self-protection: stat /proc/self/exe");
  }
  int mfd = memfd_create("shoal-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mfd < 0 && errno == EINVAL) mfd = memfd_create("shoal-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0) {
    close(src);
    return sh_errno(e, errno, "self-protection: memfd_create");
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = sendfile(mfd, src, NULL, (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(src);
      close(mfd);
      return sh_errno(e, err, "self-protection: copy the runtime into a memfd");
    }
    left -= n;
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0) {
    int err = errno;
    close(mfd);
    return sh_errno(e, err, "self-protection: seal the memfd copy");
  }
  syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
  int err = errno;
  close(mfd);
  return sh_errno(e, err, "self-protection: exec the sealed copy");
}
