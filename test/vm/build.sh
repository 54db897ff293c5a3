#!/bin/bash
# Builds, once, the pieces of the cgroup2-only test VM into .cache/vm/:
#   vmlinux          the Debian 6.1 kernel, uncompressed (QEMU boots the ELF directly through PVH,
#                    which skips the in-guest decompression that costs seconds under TCG)
#   initramfs.cpio.gz busybox-static, the kernel modules the guest needs, and test/vm/guest-init.sh
# The kernel package is fetched with `apt-get download` and unpacked with `dpkg-deb -x`, never
# installed. A stamp holding the kernel name and a hash of the inputs makes reruns free.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
CACHE=${SHOAL_VM_CACHE:-$REPO/.cache/vm}
# The Debian 6.1 kernel: cgroup2 with every controller, and overlay/veth/bridge/9p as modules.
KERNEL_PKG=${SHOAL_VM_KERNEL_PKG:-$(apt-cache pkgnames linux-image-6.1.0- |
  grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | awk 'END { print }')}
[[ -n "$KERNEL_PKG" ]] || { echo "vm/build: no linux-image-6.1.0-<n>-amd64 in the apt lists (apt-get update?)" >&2; exit 1; }

# Modules the guest loads, in an order that satisfies their dependencies (resolved below from each
# module's own `depends=` so a kernel update that adds one is still loaded first):
#   9p over virtio for the host's root and the results directory; overlay for the writable root and
#   the containers' rootfs; veth and bridge for CNI; netfilter for the bridge plugin's masquerade
#   and portmap (iptables here is the nf_tables flavour). Soft dependencies (a module that asks for
#   another at run time, through modprobe, which the guest does not have) are listed explicitly.
WANTED_MODULES=(
  virtio_pci 9pnet_virtio 9p overlay veth bridge br_netfilter
  crc32c_generic  # libcrc32c (conntrack) asks the crypto API for crc32c; no modprobe loads it
  nf_tables nft_compat nft_chain_nat nft_ct nft_masq nft_nat nft_redir nft_reject_inet nft_fib_inet
  xt_MASQUERADE xt_conntrack xt_comment xt_addrtype xt_multiport xt_mark xt_nat xt_tcpudp
  iptable_nat iptable_filter ip6table_nat ip6table_filter
)

# The fault-injection library of the harness's self-check (see test/vm/fault/break_cgroup_file.c).
shim_src=test/vm/fault/break_cgroup_file.c
if [[ ! -f "$CACHE/break_cgroup_file.so" || "$shim_src" -nt "$CACHE/break_cgroup_file.so" ]]; then
  mkdir -p "$CACHE"
  gcc -std=gnu11 -Wall -Wextra -Werror -O2 -shared -fPIC -o "$CACHE/break_cgroup_file.so.tmp" "$shim_src" -ldl
  mv "$CACHE/break_cgroup_file.so.tmp" "$CACHE/break_cgroup_file.so"
fi

inputs_hash=$( { echo "$KERNEL_PKG ${WANTED_MODULES[*]}"; cat test/vm/build.sh test/vm/guest-init.sh /bin/busybox; } | sha256sum | cut -c1-16)
stamp="$CACHE/stamp"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$KERNEL_PKG $inputs_hash" && -f "$CACHE/vmlinux" && -f "$CACHE/initramfs.cpio.gz" ]]; then
  exit 0
fi
echo "vm/build: building the VM pieces from $KERNEL_PKG into $CACHE"
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# apt-get download writes into the current directory; the _apt sandbox user may not be able to, and
# falls back to root with a warning, which is harmless here.
deb=$(compgen -G "$CACHE/${KERNEL_PKG}_*.deb" | awk 'NR == 1' || true)
if [[ -z "$deb" ]]; then
  (cd "$CACHE" && apt-get download -q "$KERNEL_PKG" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  deb=$(compgen -G "$CACHE/${KERNEL_PKG}_*.deb" | awk 'NR == 1' || true)
  [[ -n "$deb" ]] || { echo "vm/build: apt-get download $KERNEL_PKG failed" >&2; exit 1; }
fi
dpkg-deb -x "$deb" "$work/pkg"
kver=${KERNEL_PKG#linux-image-}

# The bzImage carries the kernel as one xz stream after its setup code; cut from the xz magic.
bzimage="$work/pkg/boot/vmlinuz-$kver"
xz_at=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$bzimage" | awk -F: 'NR == 1 { print $1 }')
[[ -n "$xz_at" ]] || { echo "vm/build: no xz payload in $bzimage" >&2; exit 1; }
# (xz stops at the end of its stream; the bytes after it are the image's trailer)
xz -dc --single-stream < <(tail -c +$((xz_at + 1)) "$bzimage") >"$work/vmlinux"
[[ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]] ||
  { echo "vm/build: the xz payload of $bzimage is not an ELF kernel" >&2; exit 1; }

# Resolve module dependencies from the .modinfo section (the package ships no modules.dep and this
# host may have no modinfo): depth-first, dependencies before dependents.
moddir="$work/pkg/lib/modules/$kver"
declare -A module_path=()
while IFS= read -r f; do
  name=$(basename "$f" .ko); module_path[${name//-/_}]=$f
done < <(find "$moddir" -name '*.ko')
declare -A placed=()
ordered=()
place() {
  local name=${1//-/_} dep deps
  [[ -n "${placed[$name]:-}" ]] && return 0
  placed[$name]=1
  [[ -n "${module_path[$name]:-}" ]] || { echo "vm/build: module $name not in $KERNEL_PKG (built in?)" >&2; return 0; }
  deps=$(tr '\0' '\n' <"${module_path[$name]}" | sed -n 's/^depends=//p')
  for dep in ${deps//,/ }; do place "$dep"; done
  ordered+=("$name")
}
for m in "${WANTED_MODULES[@]}"; do place "$m"; done

root="$work/initramfs"
mkdir -p "$root"/{bin,dev,proc,sys,modules,host,rw,newroot}
cp /bin/busybox "$root/bin/busybox"
for m in "${ordered[@]}"; do cp "${module_path[$m]}" "$root/modules/$m.ko"; done
printf '%s\n' "${ordered[@]}" >"$root/modules/order"
install -m 0755 test/vm/guest-init.sh "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initramfs.cpio.gz"

mv "$work/vmlinux" "$CACHE/vmlinux"
mv "$work/initramfs.cpio.gz" "$CACHE/initramfs.cpio.gz"
echo "$KERNEL_PKG $inputs_hash" >"$stamp"
echo "vm/build: done ($(du -h "$CACHE/vmlinux" | cut -f1) vmlinux, ${#ordered[@]} modules)"
