#!/usr/bin/env bash
# Downloads Debian kernel images and headers for the VM tests into the repo-local cache
# (.cache/kernels/<release>/), never installing them on the host.
#
#   scripts/vm/fetch-kernels.sh [6.1|5.10|6.12 ...]     (default: all three)
#
# Layout after a run, per kernel release KREL (e.g. 6.1.0-56-amd64):
#   .cache/kernels/KREL/root/            every .deb extracted (dpkg-deb -x)
#   .cache/kernels/KREL/vmlinuz          the boot image
#   .cache/kernels/KREL/build            -> the headers tree to pass to make -C
#   .cache/kernels/KREL/modules/         the kernel's own modules tree (lib/modules/KREL)
# 5.10 comes from bullseye through a private apt configuration under .cache/apt-bullseye,
# with the bullseye suite pinned to priority 50 so it can never upgrade host packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=$ROOT/.cache/kernels
mkdir -p "$CACHE"

log() { printf '[fetch-kernels] %s\n' "$*" >&2; }

# Private apt configuration for bullseye: its own lists and cache, pinned to 50.
BULLSEYE_APT=$ROOT/.cache/apt-bullseye
bullseye_apt() {
  mkdir -p "$BULLSEYE_APT"/{lists/partial,archives/partial,etc/preferences.d,etc/sources.list.d}
  cat >"$BULLSEYE_APT/etc/sources.list" <<SRC
deb http://deb.debian.org/debian bullseye main
deb http://deb.debian.org/debian-security bullseye-security main
SRC
  cat >"$BULLSEYE_APT/etc/preferences.d/bullseye-pin" <<PIN
Package: *
Pin: release n=bullseye
Pin-Priority: 50

Package: *
Pin: release n=bullseye-security
Pin-Priority: 50
PIN
  APT_OPTS=(-o "Dir::Etc::SourceList=$BULLSEYE_APT/etc/sources.list"
    -o "Dir::Etc::SourceParts=$BULLSEYE_APT/etc/sources.list.d"
    -o "Dir::Etc::PreferencesParts=$BULLSEYE_APT/etc/preferences.d"
    -o "Dir::State::Lists=$BULLSEYE_APT/lists"
    -o "Dir::Cache=$BULLSEYE_APT/cache"
    -o "Dir::Cache::Archives=$BULLSEYE_APT/archives"
    -o "APT::Get::List-Cleanup=0")
  mkdir -p "$BULLSEYE_APT/cache"
  if [ ! -e "$BULLSEYE_APT/lists/.updated" ]; then
    apt-get "${APT_OPTS[@]}" update >&2
    touch "$BULLSEYE_APT/lists/.updated"
  fi
}

# download_into DIR APT-ARGS... PACKAGES...: apt-get download into DIR, then extract each .deb.
download_and_extract() {
  local dir=$1; shift
  mkdir -p "$dir/debs" "$dir/root"
  (cd "$dir/debs" && apt-get "$@" download "${PKGS[@]}" >&2)
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
}

# Link the extracted -common and kbuild folders where the headers' Makefiles expect them
# (absolute paths /usr/src/linux-headers-*-common and /usr/lib/linux-kbuild-*).
link_system_paths() {
  local dir=$1 p
  for p in "$dir"/root/usr/src/*; do
    [ -e "/usr/src/$(basename "$p")" ] || ln -s "$p" "/usr/src/$(basename "$p")"
  done
  for p in "$dir"/root/usr/lib/linux-kbuild-*; do
    [ -e "$p" ] || continue
    [ -e "/usr/lib/$(basename "$p")" ] || ln -s "$p" "/usr/lib/$(basename "$p")"
  done
}

finish() {
  local dir=$1 krel=$2
  ln -sfn "root/usr/src/linux-headers-$krel" "$dir/build"
  if [ -e "$dir/root/boot/vmlinuz-$krel" ]; then
    ln -sfn "root/boot/vmlinuz-$krel" "$dir/vmlinuz"
    ln -sfn "root/lib/modules/$krel" "$dir/modules"
  fi
  link_system_paths "$dir"
  echo "$krel" >"$dir/.done"
  log "ready: $dir"
}

fetch_61() {
  local nn krel
  krel=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-\(6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1)
  [ -n "$krel" ] || { log "cannot find the bookworm 6.1 kernel"; return 1; }
  local dir=$CACHE/$krel
  [ -e "$dir/.done" ] && { log "cached: $dir"; echo "$krel" >"$CACHE/6.1"; return 0; }
  nn=${krel%-amd64}
  PKGS=("linux-image-$krel" "linux-headers-$krel" "linux-headers-$nn-common"
    "linux-kbuild-${nn%%-*}")
  # bookworm's kbuild package is named after the major.minor (linux-kbuild-6.1).
  PKGS[3]="linux-kbuild-6.1"
  download_and_extract "$dir"
  finish "$dir" "$krel"
  echo "$krel" >"$CACHE/6.1"
}

fetch_612() {
  local ver krel
  ver=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' |
    awk '{print $1}' | sed 's/linux-headers-//; s/-amd64//' | sort -V | tail -1)
  [ -n "$ver" ] || { log "cannot find 6.12 headers in bookworm"; return 1; }
  krel=$ver-amd64
  local dir=$CACHE/$krel
  [ -e "$dir/.done" ] && [ -e "$dir/vmlinuz" ] && { log "cached: $dir"; echo "$krel" >"$CACHE/6.12"; return 0; }
  PKGS=("linux-image-$krel" "linux-headers-$krel" "linux-headers-$ver-common" "linux-kbuild-$ver")
  download_and_extract "$dir"
  finish "$dir" "$krel"
  echo "$krel" >"$CACHE/6.12"
}

fetch_510() {
  bullseye_apt
  local krel nn
  krel=$(apt-cache "${APT_OPTS[@]}" depends linux-image-amd64/bullseye-security 2>/dev/null |
    sed -n 's/.*Depends: linux-image-\(5\.10\.0-[0-9]*-amd64\)$/\1/p' | head -1)
  [ -n "$krel" ] || krel=$(apt-cache "${APT_OPTS[@]}" depends linux-image-amd64/bullseye |
    sed -n 's/.*Depends: linux-image-\(5\.10\.0-[0-9]*-amd64\)$/\1/p' | head -1)
  [ -n "$krel" ] || { log "cannot find the bullseye 5.10 kernel"; return 1; }
  local dir=$CACHE/$krel
  [ -e "$dir/.done" ] && { log "cached: $dir"; echo "$krel" >"$CACHE/5.10"; return 0; }
  nn=${krel%-amd64}
  PKGS=("linux-image-$krel" "linux-headers-$krel" "linux-headers-$nn-common" "linux-kbuild-5.10")
  download_and_extract "$dir" "${APT_OPTS[@]}" -t bullseye
  finish "$dir" "$krel"
  echo "$krel" >"$CACHE/5.10"
}

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(6.1 5.10 6.12)
for t in "${targets[@]}"; do
  case "$t" in
    6.1) fetch_61 ;;
    5.10) fetch_510 ;;
    6.12) fetch_612 ;;
    *) log "unknown kernel '$t' (expected 6.1, 5.10 or 6.12)"; exit 2 ;;
  esac
done
