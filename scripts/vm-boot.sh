#!/usr/bin/env bash
# Boots an image made by scripts/vm-image.sh under qemu (TCG: no KVM needed)
# with a throw-away overlay, so every boot starts from the same disk. The
# serial console (kernel messages and whatever the guest prints there) goes to
# LOG. Fails when the guest does not power off within TIMEOUT seconds, or when
# the kernel printed a WARN, BUG, oops or panic.
#
#   scripts/vm-boot.sh IMAGE_DIR LOG [TIMEOUT_SECONDS] [MEMORY_MB]
#   VM_APPEND="key=value ..." scripts/vm-boot.sh ...   more kernel command line
#                                (e.g. what a ConditionKernelCommandLine= unit tests)
#   VM_DRIVE=FILE scripts/vm-boot.sh ...   a second disk (/dev/vdb), written through
#                                (not a snapshot): how a guest hands results back
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 IMAGE_DIR LOG [TIMEOUT] [MEMORY_MB]" >&2; exit 2; }
dir=$1 log=$2 timeout=${3:-600} memory=${4:-1024}
for file in image.ext4 vmlinuz initrd.img; do
	[ -s "$dir/$file" ] || { echo "vm-boot: $dir/$file is missing (scripts/vm-image.sh builds it)" >&2; exit 1; }
done

. "$(dirname "$0")/vm/qemu-lib.sh"
status=0
vm_qemu "$log" "$timeout" "$memory" "root=/dev/vda rw loglevel=5${VM_APPEND:+ $VM_APPEND}" \
	-snapshot -nic none -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
	-drive "file=$dir/image.ext4,format=raw,if=virtio" \
	${VM_DRIVE:+-drive "file=$VM_DRIVE,format=raw,if=virtio,snapshot=off"} || status=$?
if [ "$status" = 124 ]; then
	echo "vm-boot: the guest did not power off within ${timeout}s (console: $log)" >&2
	exit 1
fi
[ "$status" = 0 ] || { echo "vm-boot: qemu exited with $status (console: $log)" >&2; exit 1; }
if vm_kernel_problems "$log" >&2; then
	echo "vm-boot: the kernel reported a problem (above; console: $log)" >&2
	exit 1
fi
