#!/bin/busybox sh
# PID 1 of the cgroup2 test VM (runs from the initramfs built by test/vm/build.sh).
# Stage 1 makes the host's / (shared read-only over 9p) writable with an overlay on tmpfs, gives it
# the guest's own /proc, /sys, a cgroup2-only /sys/fs/cgroup, /dev, /run and /tmp, and switches
# root into it (a chroot would not do: the kernel refuses new user namespaces to a chrooted
# process). Stage 2, the same script run again from the new root, runs the job the host left in the
# results share (job.sh) and powers the VM off. The job writes its own exit status to the share;
# this script writes one only when the job could not run.
if [ "$1" = stage2 ]; then
  export PATH=/vm-init/bin
  # A node's services run in leaf cgroups, never in the root (systemd puts them under
  # system.slice): do the same so the runtime meets the no-internal-processes rule as on a node.
  mkdir -p /sys/fs/cgroup/vm.slice
  echo $$ >/sys/fs/cgroup/vm.slice/cgroup.procs || echo "vm-init: cannot move into vm.slice"
  echo "vm-init: cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
  echo "vm-init: running the job"
  # In the foreground: a background job of a non-interactive shell starts with SIGINT and SIGQUIT
  # ignored, which every process of the tests would inherit. This shell, PID 1, still reaps the
  # orphans the tests leave while it waits (it waits for any child).
  /bin/bash /vm-results/job.sh
  rc=$?
  echo "vm-init: job exited with $rc"
  [ -s /vm-results/status ] || echo "$rc" >/vm-results/status
  sync
  poweroff -f
fi

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "vm-init: $*"; }
give_up() {
  say "$*"
  [ -d /newroot/vm-results ] && echo 125 >/newroot/vm-results/status
  sync
  poweroff -f
}

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || say "insmod $m failed"
done

ninep='trans=virtio,version=9p2000.L,msize=524288'
# cache=loose: the guest caches the host's files and their metadata instead of asking the host on
# every stat and read (Node resolving modules makes thousands of those). The share is read-only
# and the tests' inputs are frozen before boot, so a stale cache cannot mislead them.
mount -t 9p -o "$ninep,ro,cache=loose" hostroot /host || give_up "cannot mount the host's root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 rw /rw || give_up "cannot mount the tmpfs for the overlay"
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  give_up "cannot mount the overlay root"
mkdir -p /newroot/vm-results
mount -t 9p -o "$ninep" results /newroot/vm-results || give_up "cannot mount the results share (9p tag results)"

# The guest's own kernel interfaces over the host's (which the 9p share would otherwise show).
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
# No configuration: cgroup2 is the only hierarchy the kernel offers (cgroup_no_v1=all), mounted
# where every distribution mounts it.
mount -t cgroup2 -o nsdelegate cgroup2 /newroot/sys/fs/cgroup || give_up "cannot mount cgroup2"
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm /newroot/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
ln -sf pts/ptmx /newroot/dev/ptmx 2>/dev/null
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
mount -t mqueue mqueue /newroot/dev/mqueue
# Writable places the tests and the daemon mount overlays on need a real filesystem: an overlay's
# upper directory cannot itself live on an overlay. The host's jest cache (transformed test files)
# stays reachable at /vm-jest-cache so the guest does not pay for transpiling again.
mkdir -p /newroot/vm-jest-cache
[ -d /newroot/tmp/jest_0 ] && mount --bind /newroot/tmp/jest_0 /newroot/vm-jest-cache
# The repository may live below one of those places (a CI clone in /tmp): hold it aside and put it
# back on top of the tmpfs.
repo=$(cat /newroot/vm-results/repo 2>/dev/null)
if [ -n "$repo" ] && [ -d "/newroot$repo" ]; then
  mkdir -p /repo-aside && mount --bind "/newroot$repo" /repo-aside || give_up "cannot hold the repository $repo aside"
fi
for d in /tmp /run /var/lib/shoal /var/lib/cni; do
  mkdir -p "/newroot$d"
  mount -t tmpfs -o mode=0755 tmpfs "/newroot$d"
done
if [ -d /repo-aside ] && [ ! -e "/newroot$repo/Makefile" ]; then
  mkdir -p "/newroot$repo" && mount --bind /repo-aside "/newroot$repo" || give_up "cannot put the repository $repo back"
fi
chmod 1777 /newroot/tmp
ip link set lo up

# Stage 2 runs from the new root with this busybox (the host's may be missing or different).
mkdir -p /newroot/vm-init/bin
cp /bin/busybox /newroot/vm-init/busybox
cp /init /newroot/vm-init/init
/newroot/vm-init/busybox --install -s /newroot/vm-init/bin 2>/dev/null
for applet in /newroot/vm-init/bin/*; do ln -sf /vm-init/busybox "$applet"; done
exec switch_root /newroot /vm-init/busybox sh /vm-init/init stage2
