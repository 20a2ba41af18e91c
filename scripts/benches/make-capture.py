#!/usr/bin/env python3
"""Builds a large capture for benchmarks by repeating the event blocks of a small one.

    make-capture.py IN.scap OUT.scap EVENTS

Everything before the first event block (section header, machine info, process/fd/user lists)
is copied once; then the event blocks are repeated, timestamps shifted so time keeps going
forward, until EVENTS events were written. The output is uncompressed.
"""
import gzip
import struct
import sys

EVENT_BLOCKS = {0x204: 2, 0x8010ABCD: 2, 0x216: 2, 0x221: 2, 0x208: 6, 0x217: 6, 0x222: 6}


def blocks(data):
    off = 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or off + blen > len(data):
            sys.exit(f"corrupt block at offset {off}")
        yield btype, data[off:off + blen]
        off += blen


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, dst, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
    raw = open(src, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    head, events = [], []
    for btype, block in blocks(raw):
        if btype in EVENT_BLOCKS:
            events.append((EVENT_BLOCKS[btype], block))
        elif not events:
            head.append(block)
    if not events:
        sys.exit(f"{src}: no event blocks")
    ts = [struct.unpack_from("<Q", b, 8 + o)[0] for o, b in events]
    span = max(ts) - min(ts) + 1000
    written = 0
    with open(dst, "wb") as out:
        for b in head:
            out.write(b)
        rnd = 0
        while written < want:
            shift = rnd * span
            for (o, b), t in zip(events, ts):
                if written == want:
                    break
                nb = bytearray(b)
                struct.pack_into("<Q", nb, 8 + o, t + shift)
                out.write(nb)
                written += 1
            rnd += 1
    print(f"{dst}: {written} events ({len(events)} per round, {rnd} rounds)")


main()
