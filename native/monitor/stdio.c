#include "stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A pipe whose monitor end (index mon_end) is non-blocking and both ends are close-on-exec (the
 * runtime gets its ends through dup2, which clears the flag). */
static int make_pipe(int p[2], int mon_end, const char *what, char *err, size_t errlen) {
  if (pipe2(p, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "creating %s pipe: %s", what, strerror(errno));
    return -1;
  }
  int fl = fcntl(p[mon_end], F_GETFL);
  if (fl < 0 || fcntl(p[mon_end], F_SETFL, fl | O_NONBLOCK) < 0) {
    snprintf(err, errlen, "setting %s pipe non-blocking: %s", what, strerror(errno));
    return -1;
  }
  return 0;
}

static int console_listen(struct mon_stdio *s, const char *attach_path, char *err, size_t errlen) {
  /* Next to the attach socket: the daemon gave that directory to this container. */
  int n = snprintf(s->console_path, sizeof s->console_path, "%s.cons", attach_path);
  if (n < 0 || (size_t)n >= sizeof s->console_path) {
    snprintf(err, errlen, "console socket for %s: path too long", attach_path);
    return -1;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, s->console_path, (size_t)n + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errlen, "console socket %s: socket: %s", s->console_path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (lstat(s->console_path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(s->console_path);
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  int bind_errno = errno;
  umask(old);
  if (rc < 0 || listen(fd, 1) < 0) {
    snprintf(err, errlen, "console socket %s: bind/listen: %s", s->console_path,
             strerror(rc < 0 ? bind_errno : errno));
    close(fd);
    return -1;
  }
  s->console_fd = fd;
  return 0;
}

int stdio_setup(struct mon_stdio *s, const struct mon_options *o, char *err, size_t errlen) {
  *s = (struct mon_stdio){.tty = o->tty, .in_w = -1, .out_r = -1, .err_r = -1, .master = -1, .console_fd = -1,
                          .child_fd = {-1, -1, -1}};
  int p[2];
  if (o->tty) {
    /* The container gets the pty slave; the runtime's own messages come through this pipe. */
    if (make_pipe(p, 0, "runtime output", err, errlen) < 0) return -1;
    s->err_r = p[0];
    s->child_fd[1] = p[1];
    s->child_fd[2] = dup(p[1]);
    if (s->child_fd[2] < 0) {
      snprintf(err, errlen, "dup runtime output pipe: %s", strerror(errno));
      return -1;
    }
    s->child_fd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->child_fd[0] < 0) {
      snprintf(err, errlen, "open /dev/null: %s", strerror(errno));
      return -1;
    }
    return console_listen(s, o->attach_socket, err, errlen);
  }
  if (o->stdin_open) {
    if (make_pipe(p, 1, "stdin", err, errlen) < 0) return -1;
    s->child_fd[0] = p[0];
    s->in_w = p[1];
  } else {
    s->child_fd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->child_fd[0] < 0) {
      snprintf(err, errlen, "open /dev/null: %s", strerror(errno));
      return -1;
    }
  }
  if (make_pipe(p, 0, "stdout", err, errlen) < 0) return -1;
  s->out_r = p[0];
  s->child_fd[1] = p[1];
  if (make_pipe(p, 0, "stderr", err, errlen) < 0) return -1;
  s->err_r = p[0];
  s->child_fd[2] = p[1];
  return 0;
}

void stdio_close_child_ends(struct mon_stdio *s) {
  for (int i = 0; i < 3; i++) {
    if (s->child_fd[i] >= 0) close(s->child_fd[i]);
    s->child_fd[i] = -1;
  }
}

int stdio_receive_console(struct mon_stdio *s, char *err, size_t errlen) {
  int conn = accept4(s->console_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    snprintf(err, errlen, "console socket %s: accept: %s", s->console_path, strerror(errno));
    return -1;
  }
  /* The runtime sends one message carrying the master as SCM_RIGHTS (and the pty name as data). */
  char data[256];
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int) * 4)];
  } ctl;
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  ssize_t n;
  do {
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  int rc = -1;
  if (n < 0) {
    snprintf(err, errlen, "console socket %s: recvmsg: %s", s->console_path, strerror(errno));
  } else {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int fds[4];
      memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
      for (size_t i = 0; i < nfd; i++) {
        if (s->master < 0) s->master = fds[i];
        else close(fds[i]);
      }
    }
    if (s->master < 0) {
      snprintf(err, errlen, "console socket %s: the runtime sent no descriptor", s->console_path);
    } else {
      int fl = fcntl(s->master, F_GETFL);
      if (fl < 0 || fcntl(s->master, F_SETFL, fl | O_NONBLOCK) < 0) {
        snprintf(err, errlen, "pty master: set non-blocking: %s", strerror(errno));
      } else {
        rc = 1;
      }
    }
  }
  close(conn);
  return rc;
}

void stdio_close_console(struct mon_stdio *s) {
  if (s->console_fd < 0) return;
  close(s->console_fd);
  s->console_fd = -1;
  unlink(s->console_path);
}
