#!/usr/bin/env python3
"""Builds a large .scap capture by looping the events of a small one.

The output keeps the source's section header and metadata blocks (machine info, process, fd,
interface, user and group lists) once, then repeats its event blocks until at least --events
events were written, shifting each round's timestamps past the previous round so time only moves
forward. Thread ids repeat across rounds, like a workload that runs the same commands again.

Used by scripts/bench-replay.sh when no capture recorded from a live system is available; the
result is readable by sysdig and by our reader alike (plain, not gzip).

    scripts/make-big-capture.py SOURCE.scap OUT.scap --events 3000000
"""
import argparse
import gzip
import struct
import sys

SHB = 0x0A0D0D0A
EVENT_BLOCKS = {0x204: (False, False), 0x216: (False, True), 0x221: (False, True),
                0x208: (True, False), 0x217: (True, True), 0x222: (True, True)}


def blocks(data):
    off = 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from('<II', data, off)
        if blen < 12 or off + blen > len(data):
            sys.exit('%s: bad block length %d at offset %d' % ('source', blen, off))
        yield btype, data[off:off + blen]
        off += blen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('source')
    ap.add_argument('out')
    ap.add_argument('--events', type=int, default=3_000_000)
    args = ap.parse_args()
    raw = open(args.source, 'rb').read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    meta, events = [], []
    for btype, blk in blocks(raw):
        if btype in EVENT_BLOCKS:
            has_flags, _v2 = EVENT_BLOCKS[btype]
            ts_off = 8 + 2 + (4 if has_flags else 0)
            (ts,) = struct.unpack_from('<Q', blk, ts_off)
            events.append((blk, ts_off, ts))
        elif not events:
            meta.append(blk)
        elif btype == SHB:
            break  # only the first section of a concatenated capture
    if not events:
        sys.exit('%s has no events' % args.source)
    first = min(ts for _, _, ts in events)
    last = max(ts for _, _, ts in events)
    span = last - first + 1_000_000
    written = 0
    rnd = 0
    with open(args.out, 'wb') as out:
        for blk in meta:
            out.write(blk)
        while written < args.events:
            shift = rnd * span
            for blk, ts_off, ts in events:
                b = bytearray(blk)
                struct.pack_into('<Q', b, ts_off, ts + shift)
                out.write(b)
                written += 1
            rnd += 1
    print('%s: %d events (%d rounds of %d)' % (args.out, written, rnd, len(events)))


if __name__ == '__main__':
    main()
