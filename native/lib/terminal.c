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
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "util.h"
#include <unistd.h>

int sh_send_fd(int sock, int fd, const char *name, struct sh_err *e) {
  if (sh_send_with_fd(sock, fd, name, strlen(name)) < 0) return sh_errno(e, errno, "terminal: send pty master on the console socket");
  return 0;
}

int terminal_setup(int sockfd, const char *prefix, json_t *process, int mount_console, struct sh_err *e) {
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
  char msg[80];
  snprintf(msg, sizeof msg, "%s%s", prefix, slave_name);
  if (sh_send_fd(sockfd, master, msg, e) < 0) return -1;
  close(master);
  if (!prefix[0]) close(sockfd);
  if (setsid() < 0) return sh_errno(e, errno, "terminal: setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return sh_errno(e, errno, "terminal: make %s the controlling terminal", slave_name);
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) return sh_errno(e, errno, "terminal: dup %s onto fd %d", slave_name, i);
  if (slave > 2) close(slave);
  return 0;
}

static volatile sig_atomic_t winch;
static void on_winch(int sig) {
  (void)sig;
  winch = 1;
}

static void copy_winsize(int master) {
  struct winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

int terminal_relay(int master, pid_t pid, int *status, struct sh_err *e) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return sh_errno(e, errno, "terminal: pidfd_open %d", (int)pid);
  struct termios saved;
  int raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    copy_winsize(master);
    struct sigaction sa = {.sa_handler = on_winch};
    sigaction(SIGWINCH, &sa, NULL);
  }
  int in_open = 1, master_open = 1;
  char buf[16384];
  for (;;) {
    if (winch) {
      winch = 0;
      copy_winsize(master);
    }
    struct pollfd p[3] = {{master_open ? master : -1, POLLIN, 0}, {pidfd, POLLIN, 0}, {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
    int r = poll(p, 3, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (p[0].revents & POLLIN) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) sh_write_all(STDOUT_FILENO, buf, (size_t)n);
    } else if (p[0].revents & (POLLHUP | POLLERR)) {
      master_open = 0; /* every slave closed: nothing more will come */
    }
    if (p[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n > 0) sh_write_all(master, buf, (size_t)n);
      else {
        in_open = 0;
        char eot = 4; /* end of input, as a terminal would say it */
        sh_write_all(master, &eot, 1);
      }
    }
    if ((p[1].revents & POLLIN) && !(p[0].revents & POLLIN)) break;
  }
  if (raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  close(pidfd);
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR) return sh_errno(e, errno, "terminal: wait for pid %d", (int)pid);
  return 0;
}
