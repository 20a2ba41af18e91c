#!/usr/bin/env bash
# Runs the capture reader's cargo-fuzz target (fuzz/fuzz_targets/scap_reader.rs) for N
# executions (default 10 million). Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Seeds: every capture of ../shared/compat/scap cut to its
# section header, machine info, small tables and 25 event blocks at a time, so inputs stay
# a few KiB and the fuzzer runs thousands of inputs per second. No sanitizer: the target is
# safe Rust, whose failures are panics (debug assertions and overflow checks are on).
#
#   scripts/fuzz-scap-reader.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
SHARED=${SHARED:-$PWD/../shared}
corpus=fuzz/corpus/scap_reader
mkdir -p "$corpus"
python3 - "$SHARED/compat/scap" "$corpus" <<'PY'
import glob, gzip, os, struct, sys
src, out = sys.argv[1], sys.argv[2]
EVENTS = {0x204, 0x208, 0x216, 0x217, 0x221, 0x222, 0x8010ABCD}
SHB, MI = 0x0A0D0D0A, 0x201
for path in glob.glob(f"{src}/**/*.scap", recursive=True):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    off, blocks = 0, []
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or off + blen > len(data):
            break
        blocks.append((btype, data[off:off + blen]))
        off += blen
    meta = [b for t, b in blocks if t in (SHB, MI)]
    small = [b for t, b in blocks if t not in EVENTS and t not in (SHB, MI) and len(b) < 1500][:3]
    events = [b for t, b in blocks if t in EVENTS]
    name = os.path.basename(path)[:-5]
    for i in range(0, min(len(events), 200), 25):
        seed = b"".join(meta) + b"".join(small) + b"".join(events[i:i + 25])
        with open(f"{out}/{name}-{i}.scap", "wb") as f:
            f.write(seed)
PY
exec cargo +nightly fuzz run --sanitizer none scap_reader "$corpus" -- \
  -runs="$RUNS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
