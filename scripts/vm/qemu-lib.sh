# The project's one qemu command line, sourced by scripts/vm/qemu-run.sh (initramfs guests:
# VM tests, driver benchmark, capture recorders) and scripts/vm-boot.sh (booted Debian
# images: package tests, demo). bash.

# vm_qemu LOG TIMEOUT MEMORY_MB APPEND [QEMU-ARG...]: boots under qemu TCG (VM_ACCEL
# overrides; KVM does not work on these hosts), 2 vCPUs, niced, no display; the serial
# console (every printk) goes to LOG. panic=-1 and oops=panic with -no-reboot end qemu at
# the first oops. no_timer_check: the boot-time IO-APIC timer check counts ticks in real
# time and panics ("IO-APIC + timer doesn't work") when a loaded host deschedules the
# emulated CPU during it. Returns qemu's exit status, 124 when the guest did not power off within
# TIMEOUT seconds.
vm_qemu() {
	local log=$1 timeout=$2 memory=$3 append=$4
	shift 4
	timeout --foreground "$timeout" nice -n 10 qemu-system-x86_64 -accel "${VM_ACCEL:-tcg}" \
		-cpu max -smp 2 -m "$memory" -nographic -no-reboot \
		-append "console=ttyS0 panic=-1 oops=panic no_timer_check $append" "$@" </dev/null >"$log" 2>&1
}

# vm_kernel_problems LOG: prints (with line numbers) and succeeds on any WARN, BUG, oops,
# panic or call trace the guest kernel printed.
vm_kernel_problems() {
	grep -nE 'WARNING: CPU|------------\[ cut here \]|BUG: |Oops|Kernel panic|general protection fault|Call Trace:' "$1"
}
