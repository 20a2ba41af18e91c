#!/usr/bin/env bash
# Builds the VM test initramfs for one cached kernel: busybox-static (as /bin/busybox, its
# applets in /sbin), dash (/bin/sh) and coreutils with their libraries (so the workload runs
# real programs, not busybox builtins), the virtio modules the results disk needs, our
# module, the given programs (in /usr/bin, with their libraries), the files of tests/vm/guest/
# (in /vm), the guests' shared functions (scripts/vm/guest-lib.sh as /vm-guest.sh) and
# tests/vm/guest-init.sh as /init.
#
#   scripts/vm/mkinitramfs.sh KREL FALCO_KO OUT.cpio.gz [PROGRAM...]
# Environment: INIT_SCRIPT (default tests/vm/guest-init.sh) becomes /init; the contents of
# EXTRA_DIR, if set, are copied to the root as they are.
set -euo pipefail
cd "$(dirname "$0")/../.."
krel=${1:?KREL}; ko=${2:?falco.ko}; out=${3:?output}; shift 3
kroot=.cache/kernels/$krel/root
stage=$(mktemp -d "${TMPDIR:-/tmp}/falco-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,lib,lib64,etc,root,tmp,proc,sys,dev,out,modules}
cp /bin/busybox "$stage/bin/busybox"

# copy_bin SRC DEST: a dynamically linked program and every library ldd lists.
copy_bin() {
  local src=$1 dest=$2 lib
  cp -L "$src" "$stage$dest"
  for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
    mkdir -p "$stage$(dirname "$lib")"
    [ -e "$stage$lib" ] || cp -L "$lib" "$stage$lib"
  done
}
copy_bin /bin/dash /bin/dash
ln -s dash "$stage/bin/sh"
for p in cat touch mv ls sleep true rm echo head; do
  copy_bin "$(type -P "$p")" "/usr/bin/$p"
done
for prog in "$@"; do
  copy_bin "$prog" "/usr/bin/$(basename "$prog")"
done
if [ -d tests/vm/guest ]; then
  mkdir -p "$stage/vm"
  cp -r tests/vm/guest/. "$stage/vm/"
fi
cp "$ko" "$stage/falco.ko"

# Modules for virtio-blk-pci, dependencies first (load order in /modules/order).
declare -A seen=()
order=()
find_ko() { find "$kroot/lib/modules/$krel" -name "$1.ko*" | head -1; }
add_module() {
  local name=$1 file dep
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  file=$(find_ko "$name")
  [ -n "$file" ] || return 0   # built into this kernel
  for dep in $(modinfo -F depends "$file" | tr ',' ' '); do add_module "$dep"; done
  case "$file" in
    *.xz) xz -dc "$file" >"$stage/modules/$name.ko" ;;
    *.zst) zstd -qdc "$file" >"$stage/modules/$name.ko" ;;
    *) cp "$file" "$stage/modules/$name.ko" ;;
  esac
  order+=("$name")
}
add_module virtio_pci
add_module virtio_blk
printf '%s\n' "${order[@]}" >"$stage/modules/order"

cat >"$stage/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
echo 'root:x:0:' >"$stage/etc/group"
echo 'root:$6$notarealhash$:19000:0:99999:7:::' >"$stage/etc/shadow"
chmod 0640 "$stage/etc/shadow"
echo 'falco-vm' >"$stage/etc/hostname"
echo 'ls -la' >"$stage/root/.bash_history"
if [ -n "${EXTRA_DIR:-}" ]; then
  cp -r "$EXTRA_DIR"/. "$stage/"
fi
cp scripts/vm/guest-lib.sh "$stage/vm-guest.sh"
cp "${INIT_SCRIPT:-tests/vm/guest-init.sh}" "$stage/init"
chmod +x "$stage/init"

(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
