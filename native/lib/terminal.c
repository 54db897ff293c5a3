#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

int sh_send_fd(int sock, int fd, const char *name, struct sh_err *e) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {(void *)name, strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return sh_errno(e, errno, "terminal: send pty master on the console socket");
  return 0;
}

int terminal_setup(int sockfd, json_t *process, int mount_console, struct sh_err *e) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return sh_errno(e, errno, "terminal: open /dev/ptmx");
  if (unlockpt(master) < 0) return sh_errno(e, errno, "terminal: unlockpt");
  char slave_name[64];
  if (ptsname_r(master, slave_name, sizeof slave_name) != 0) return sh_errno(e, errno, "terminal: ptsname");
  int slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return sh_errno(e, errno, "terminal: open %s", slave_name);
  json_t *size = json_object_get(process, "consoleSize");
  if (size) {
    struct winsize ws = {(unsigned short)json_integer_value(json_object_get(size, "height")),
                         (unsigned short)json_integer_value(json_object_get(size, "width")), 0, 0};
    if (ioctl(master, TIOCSWINSZ, &ws) < 0) return sh_errno(e, errno, "terminal: set consoleSize");
  }
  if (mount_console) {
    int fd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    if (mount(slave_name, "/dev/console", NULL, MS_BIND, NULL) < 0)
      return sh_errno(e, errno, "terminal: bind %s on /dev/console", slave_name);
  }
  if (sh_send_fd(sockfd, master, slave_name, e) < 0) return -1;
  close(master);
  close(sockfd);
  if (setsid() < 0) return sh_errno(e, errno, "terminal: setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return sh_errno(e, errno, "terminal: make %s the controlling terminal", slave_name);
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) return sh_errno(e, errno, "terminal: dup %s onto fd %d", slave_name, i);
  if (slave > 2) close(slave);
  return 0;
}
