#!/bin/bash
# Boots the cgroup2-only test VM (software emulation: this machine's /dev/kvm cannot run a normal
# guest kernel) and runs one command inside it, in the repository, as root, on a copy-on-write view
# of this host's /. Returns the command's exit status; the guest console streams to stderr.
#
#   test/vm/run.sh [--timeout SECONDS] [--out DIR] -- COMMAND [ARGS...]
#
# DIR (default: a fresh directory under .cache/vm/runs/) is shared read-write with the guest and
# mounted there at /vm-results: the command can leave files in it (jest's JSON report) and the
# guest writes `status` (the command's exit status) and `console.log` is the whole serial console.
# The whole run, boot to power-off, is bounded by --timeout (default 600 s); on expiry QEMU is
# killed and the status is 124.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=${SHOAL_VM_CACHE:-$REPO/.cache/vm}
timeout_s=600
out=
while (($#)); do
  case $1 in
    --timeout) timeout_s=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "vm/run: unknown option $1" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "usage: $0 [--timeout S] [--out DIR] -- COMMAND..." >&2; exit 2; }

test/vm/build.sh
if [[ -z "$out" ]]; then
  mkdir -p "$CACHE/runs"
  out=$(mktemp -d "$CACHE/runs/run.XXXXXX")
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/status" "$out/console.log"

# The job runs in the chroot with the caller's working directory and the variables the tests read.
{
  echo '#!/bin/bash'
  echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8'
  echo 'export SHOAL_IN_VM=1'
  for var in $(compgen -e | grep -E '^(SHOAL_|JEST_|CI$)' || true); do
    printf 'export %s=%q\n' "$var" "${!var}"
  done
  printf 'cd %q || exit 125\n' "$REPO"
  printf '%q ' "$@"; echo
  echo 'echo $? >/vm-results/status'
} >"$out/job.sh"
# The guest keeps the repository visible even where it puts a tmpfs (a CI clone under /tmp).
printf '%s\n' "$REPO" >"$out/repo"

# 2 vCPUs on the host's 2 cores (multi-threaded TCG); memory enough for jest workers, the daemon
# and the tmpfs that holds every write.
mem=${SHOAL_VM_MEMORY:-4096}
cmdline='console=ttyS0 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all panic=-1 quiet loglevel=4'
start=$(date +%s)
set +e
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
  -machine q35,accel=tcg -cpu max -smp "${SHOAL_VM_CPUS:-2}" -m "$mem" \
  -kernel "$CACHE/vmlinux" -initrd "$CACHE/initramfs.cpio.gz" -append "$cmdline" \
  -nodefaults -no-user-config -display none -no-reboot \
  -serial stdio \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$out,mount_tag=results,security_model=none,multidevs=remap" \
  </dev/null 2>&1 | tee "$out/console.log" | sed -u 's/^/[vm] /' >&2
qemu_rc=${PIPESTATUS[0]}
set -e
echo "vm/run: VM ran $(($(date +%s) - start)) s (QEMU exit $qemu_rc), results in $out" >&2
if ((qemu_rc == 124 || qemu_rc == 137)); then
  echo "vm/run: the VM exceeded ${timeout_s} s and was killed" >&2
  echo 124 >"$out/status"
fi
status=$(cat "$out/status" 2>/dev/null || echo 125)
[[ "$status" =~ ^[0-9]+$ ]] || status=125
exit "$status"
