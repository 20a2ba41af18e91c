#!/usr/bin/env bash
# falco-driver-loader's diagnoses, run against a fake system (fake modprobe on
# PATH, a temporary /lib/modules): each failure gets its one clear message.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
loader=$ROOT/packaging/falco-driver-loader
fake=$(mktemp -d "$SCRATCH/loader.XXXXXX")
trap 'rm -rf "$fake"' EXIT
mkdir -p "$fake/bin" "$fake/modules" "$fake/efivars"
running=$(uname -r)

run_loader() { # run_loader MODPROBE_OUTPUT ARGS...: exit status and output in $status/$out
	local modprobe_output=$1
	shift
	printf '#!/bin/sh\necho "%s" >&2\nexit 1\n' "$modprobe_output" >"$fake/bin/modprobe"
	chmod +x "$fake/bin/modprobe"
	status=0
	out=$(PATH=$fake/bin:$PATH FALCO_DRIVER_VERSION=9.9.9 FALCO_MODULES_ROOT=$fake/modules \
		FALCO_SYSFS_MODULE=$fake/no-module FALCO_EFIVARS=$fake/efivars FALCO_DKMS_ROOT=$fake/dkms \
		"$loader" "$@" 2>&1) || status=$?
}
expect() { # expect STATUS TEXT WHAT
	[ "$status" = "$1" ] || die "$3: exit status $status, expected $1; output: $out"
	grep -qF -- "$2" <<<"$out" || die "$3: output lacks \"$2\": $out"
	[ "$(grep -c . <<<"$out")" = 1 ] || die "$3: expected one message, got: $out"
	pass "$3"
}

run_loader "modprobe: ERROR: could not insert 'falco': Key was rejected by service" --load
expect 1 "Secure Boot is enabled" "Secure Boot refusal (EKEYREJECTED) is diagnosed"
mkdir -p "$fake/dkms" && touch "$fake/dkms/mok.pub"
run_loader "modprobe: ERROR: could not insert 'falco': Required key not available" --load
expect 1 "mokutil --import $fake/dkms/mok.pub" "Secure Boot refusal (ENOKEY) names the DKMS key to enroll"

run_loader "modprobe: FATAL: Module falco not found in directory /lib/modules/$running" --load
expect 1 "apt-get install linux-headers-$running" "module missing and headers missing: names the headers package"
mkdir -p "$fake/modules/$running/build" && touch "$fake/modules/$running/build/Makefile"
run_loader "modprobe: FATAL: Module falco not found in directory /lib/modules/$running" --load
expect 1 "although its headers are; build it with: falco-driver-loader" "module missing, headers present: says to build it"

mkdir -p "$fake/modules/6.1.0-77-amd64"
# --build first checks for dkms; give it a fake one so the headers check is reached.
printf '#!/bin/sh\nexit 0\n' >"$fake/bin/dkms" && chmod +x "$fake/bin/dkms"
mkdir -p "$fake/src/falco-9.9.9" && touch "$fake/src/falco-9.9.9/dkms.conf"
status=0
out=$(PATH=$fake/bin:$PATH FALCO_DRIVER_VERSION=9.9.9 FALCO_MODULES_ROOT=$fake/modules FALCO_SOURCE_ROOT=$fake/src \
	FALCO_SYSFS_MODULE=$fake/no-module "$loader" --build -k 6.1.0-77-amd64 2>&1 >/dev/null) || status=$?
expect 1 "apt-get install linux-headers-6.1.0-77-amd64" "--build for a kernel without headers names the headers package"

rm -f "$fake/bin/dkms"
status=0
out=$(PATH=$fake/bin:/usr/bin:/bin FALCO_DRIVER_VERSION=9.9.9 FALCO_MODULES_ROOT=$fake/modules \
	"$loader" --install-all 2>&1) || status=$?
# /usr/sbin (where dkms lives) is not on this PATH.
expect 0 "dkms is not installed" "--install-all without dkms succeeds and says what to install"

# --load passes the configured ring size (engine.kmod.buf_size_preset, the last
# one of falco.yaml and config.d/) to modprobe as ring_bytes.
printf '#!/bin/sh\necho "$*" >"%s/modprobe.args"\n' "$fake" >"$fake/bin/modprobe"
chmod +x "$fake/bin/modprobe"
mkdir -p "$fake/config.d"
load_args() { # load_args: modprobe's arguments for --load with $fake/falco.yaml and config.d
	rm -f "$fake/modprobe.args"
	PATH=$fake/bin:$PATH FALCO_SYSFS_MODULE=$fake/no-module FALCO_CONFIG_FILE=$fake/falco.yaml \
		FALCO_CONFIG_DIR=$fake/config.d "$loader" --load >/dev/null 2>"$fake/load.err" || die "--load failed: $(cat "$fake/load.err")"
	cat "$fake/modprobe.args"
}
cp "$ROOT/packaging/falco.yaml" "$fake/falco.yaml"
[ "$(load_args)" = "falco ring_bytes=8388608" ] || die "packaged falco.yaml (preset 4): modprobe $(load_args)"
pass "--load with the packaged falco.yaml: modprobe falco ring_bytes=8388608 (preset 4 = 8 MiB)"
sed -i 's/^    buf_size_preset: 4$/    buf_size_preset: 6   # larger/' "$fake/falco.yaml"
grep -q 'buf_size_preset: 6' "$fake/falco.yaml" || die "test setup: no kmod buf_size_preset line in falco.yaml"
[ "$(load_args)" = "falco ring_bytes=33554432" ] || die "preset 6: modprobe $(load_args)"
printf 'engine:\n  kind: kmod\n  kmod:\n    drop_failed_exit: true\n    buf_size_preset: 2\n  ebpf:\n    buf_size_preset: 9\n' \
	>"$fake/config.d/50-ring.yaml"
[ "$(load_args)" = "falco ring_bytes=2097152" ] || die "config.d preset 2: modprobe $(load_args)"
pass "--load follows buf_size_preset edits, config.d overriding falco.yaml (preset 6 = 32 MiB, 2 = 2 MiB)"
printf 'engine:\n  kmod:\n    buf_size_preset: 11\n' >"$fake/config.d/60-bad.yaml"
[ "$(load_args)" = "falco" ] || die "invalid preset: modprobe $(load_args)"
grep -q 'expected 1 to 10' "$fake/load.err" || die "invalid preset: no message"
pass "--load with an invalid buf_size_preset: module default and a message"
rm -f "$fake/falco.yaml" "$fake/config.d/"*
[ "$(load_args)" = "falco" ] || die "no configuration: modprobe $(load_args)"
pass "--load without configuration: modprobe falco (module default)"

status=0
out=$("$loader" --bogus 2>&1) || status=$?
[ "$status" = 2 ] || die "unknown argument: exit $status, expected 2"
pass "unknown argument: usage error (exit 2)"
