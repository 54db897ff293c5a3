import type { OciSeccomp, OciSeccompRule } from './oci';

/**
 * shoal's default seccomp profile: an allow-list. Whatever is not listed fails with EPERM.
 *
 * Left out on purpose (each is either a kernel attack surface or a way around the container's
 * isolation): kexec_load/kexec_file_load, bpf, keyctl/add_key/request_key, mount/umount2 and the
 * new mount API (fsopen, fsmount, move_mount, open_tree, fspick, fsconfig, mount_setattr),
 * pivot_root, open_by_handle_at/name_to_handle_at, init/finit/delete_module, iopl/ioperm,
 * reboot, swapon/swapoff, perf_event_open, userfaultfd, setns, acct, quotactl, lookup_dcookie,
 * settimeofday/clock_settime/adjtimex, vm86, syslog, uselib, personality beyond the safe values,
 * and unshare/clone with CLONE_NEWUSER (or any other namespace flag for clone).
 * A few are granted back when the container holds the capability that guards them anyway.
 */
const ALLOWED: readonly string[] = [
  'accept', 'accept4', 'access', 'alarm', 'arch_prctl', 'bind', 'brk', 'cachestat', 'capget', 'capset', 'chdir', 'chmod',
  'chown', 'chown32', 'chroot', 'clock_getres', 'clock_getres_time64', 'clock_gettime', 'clock_gettime64',
  'clock_nanosleep', 'clock_nanosleep_time64', 'close', 'close_range', 'connect', 'copy_file_range', 'creat', 'dup',
  'dup2', 'dup3', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_pwait', 'epoll_pwait2',
  'epoll_wait', 'epoll_wait_old', 'eventfd', 'eventfd2', 'execve', 'execveat', 'exit', 'exit_group', 'faccessat',
  'faccessat2', 'fadvise64', 'fadvise64_64', 'fallocate', 'fanotify_mark', 'fchdir', 'fchmod', 'fchmodat',
  'fchmodat2', 'fchown', 'fchown32', 'fchownat', 'fcntl', 'fcntl64', 'fdatasync', 'fgetxattr', 'flistxattr', 'flock',
  'fork', 'fremovexattr', 'fsetxattr', 'fstat', 'fstat64', 'fstatat64', 'fstatfs', 'fstatfs64', 'fsync', 'ftruncate',
  'ftruncate64', 'futex', 'futex_requeue', 'futex_time64', 'futex_wait', 'futex_waitv', 'futex_wake', 'futimesat',
  'get_mempolicy', 'get_robust_list', 'get_thread_area', 'getcpu', 'getcwd', 'getdents', 'getdents64', 'getegid',
  'getegid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getgroups', 'getgroups32', 'getitimer', 'getpeername',
  'getpgid', 'getpgrp', 'getpid', 'getppid', 'getpriority', 'getrandom', 'getresgid', 'getresgid32', 'getresuid',
  'getresuid32', 'getrlimit', 'getrusage', 'getsid', 'getsockname', 'getsockopt', 'gettid', 'gettimeofday', 'getuid',
  'getuid32', 'getxattr', 'getxattrat', 'inotify_add_watch', 'inotify_init', 'inotify_init1', 'inotify_rm_watch',
  'io_cancel', 'io_destroy', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64', 'io_setup', 'io_submit',
  'ioctl', 'ioprio_get', 'ioprio_set', 'ipc', 'kill', 'landlock_add_rule', 'landlock_create_ruleset',
  'landlock_restrict_self', 'lchown', 'lchown32', 'lgetxattr', 'link', 'linkat', 'listen', 'listxattr',
  'listxattrat', 'llistxattr', 'lremovexattr', 'lseek', 'lsetxattr', 'lstat', 'lstat64', 'madvise', 'map_shadow_stack',
  'membarrier', 'memfd_create', 'memfd_secret', 'mincore', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'mlock', 'mlock2',
  'mlockall', 'mmap', 'mmap2', 'mprotect', 'mq_getsetattr', 'mq_notify', 'mq_open', 'mq_timedreceive',
  'mq_timedreceive_time64', 'mq_timedsend', 'mq_timedsend_time64', 'mq_unlink', 'mremap', 'mseal', 'msgctl',
  'msgget', 'msgrcv', 'msgsnd', 'msync', 'munlock', 'munlockall', 'munmap', 'nanosleep', 'newfstatat', 'open',
  'openat', 'openat2', 'pause', 'pidfd_getfd', 'pidfd_open', 'pidfd_send_signal', 'pipe', 'pipe2', 'pkey_alloc',
  'pkey_free', 'pkey_mprotect', 'poll', 'ppoll', 'ppoll_time64', 'prctl', 'pread64', 'preadv', 'preadv2',
  'prlimit64', 'process_mrelease', 'pselect6', 'pselect6_time64', 'ptrace', 'pwrite64', 'pwritev', 'pwritev2',
  'read', 'readahead', 'readlink', 'readlinkat', 'readv', 'recv', 'recvfrom', 'recvmmsg', 'recvmmsg_time64',
  'recvmsg', 'remap_file_pages', 'removexattr', 'removexattrat', 'rename', 'renameat', 'renameat2',
  'restart_syscall', 'rmdir', 'rseq', 'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo',
  'rt_sigreturn', 'rt_sigsuspend', 'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_getaffinity', 'sched_getattr', 'sched_getparam',
  'sched_getscheduler', 'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'sched_setaffinity',
  'sched_setattr', 'sched_setparam', 'sched_setscheduler', 'sched_yield', 'seccomp', 'select', 'semctl', 'semget',
  'semop', 'semtimedop', 'semtimedop_time64', 'send', 'sendfile', 'sendfile64', 'sendmmsg', 'sendmsg', 'sendto',
  'set_mempolicy', 'set_mempolicy_home_node', 'set_robust_list', 'set_thread_area', 'set_tid_address', 'setfsgid',
  'setfsgid32', 'setfsuid', 'setfsuid32', 'setgid', 'setgid32', 'setgroups', 'setgroups32', 'setitimer', 'setpgid',
  'setpriority', 'setregid', 'setregid32', 'setresgid', 'setresgid32', 'setresuid', 'setresuid32', 'setreuid',
  'setreuid32', 'setrlimit', 'setsid', 'setsockopt', 'setuid', 'setuid32', 'setxattr', 'setxattrat', 'shmat',
  'shmctl', 'shmdt', 'shmget', 'shutdown', 'sigaltstack', 'signalfd', 'signalfd4', 'sigprocmask', 'sigreturn',
  'socket', 'socketcall', 'socketpair', 'splice', 'stat', 'stat64', 'statfs', 'statfs64', 'statx', 'symlink',
  'symlinkat', 'sync', 'sync_file_range', 'syncfs', 'sysinfo', 'tee', 'tgkill', 'time', 'timer_create',
  'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
  'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64', 'times', 'tkill',
  'truncate', 'truncate64', 'ugetrlimit', 'umask', 'uname', 'unlink', 'unlinkat', 'utime', 'utimensat',
  'utimensat_time64', 'utimes', 'vfork', 'vmsplice', 'wait4', 'waitid', 'waitpid', 'write', 'writev',
];

/** Granted back when the container holds the capability (it could do the same without seccomp). */
const BY_CAPABILITY: Readonly<Record<string, readonly string[]>> = {
  CAP_SYS_ADMIN: ['mount', 'umount', 'umount2', 'setns', 'unshare', 'clone', 'pivot_root', 'fanotify_init', 'quotactl', 'name_to_handle_at', 'lookup_dcookie', 'perf_event_open', 'syslog', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr'],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_CHROOT: [],
  CAP_SYS_MODULE: ['init_module', 'finit_module', 'delete_module'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYS_PTRACE: ['kcmp', 'process_vm_readv', 'process_vm_writev'],
  CAP_SYS_RAWIO: ['iopl', 'ioperm'],
  CAP_SYS_TIME: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'adjtimex', 'clock_adjtime', 'clock_adjtime64'],
  CAP_SYS_TTY_CONFIG: ['vhangup'],
  CAP_SYSLOG: ['syslog'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'set_mempolicy', 'move_pages'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
};

const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

const EPERM = 1;
const ENOSYS = 38;

export function defaultSeccompProfile(capabilities: readonly string[]): OciSeccomp {
  const caps = new Set(capabilities);
  const granted = new Set<string>();
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (caps.has(cap)) names.forEach((n) => granted.add(n));
  const sysAdmin = caps.has('CAP_SYS_ADMIN');
  const rules: OciSeccompRule[] = [{ names: [...ALLOWED], action: 'SCMP_ACT_ALLOW' }];
  if (granted.size > 0) rules.push({ names: [...granted].filter((n) => !ALLOWED.includes(n)).sort(), action: 'SCMP_ACT_ALLOW' });
  if (!sysAdmin) {
    // New processes and threads, but no new namespaces: flags are the first argument on x86-64.
    rules.push({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    // unshare of anything but a user namespace stays possible only with CAP_SYS_ADMIN, which
    // the kernel checks; a new user namespace needs no capability, so seccomp refuses it.
    rules.push({ names: ['unshare'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NEWUSER, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes libc fall back to clone.
    rules.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  } else {
    rules.push({ names: ['clone3'], action: 'SCMP_ACT_ALLOW' });
  }
  // personality: only the harmless values (linux, linux32 and querying).
  for (const value of [0x0, 0x8, 0x20000, 0x20008, 0xffffffff]) {
    rules.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: rules,
  };
}
