#!/usr/bin/env python3
"""Verdicts of one VM test boot (tests/vm/run.sh): the guest's PASS/FAIL lines, the
recorded workload in dump-main.txt, and the serial log (no WARN, BUG, oops, panic)."""
import re
import sys
from pathlib import Path

work = Path(sys.argv[1])
out = work / "out"
failures = []


def fail(what):
    failures.append(what)
    print(f"   FAIL {what}")


def ok(what):
    print(f"   ok   {what}")


serial = (work / "serial.log").read_text(errors="replace")
for bad in ("WARNING:", "BUG:", "Oops", "Call Trace", "general protection fault",
            "Kernel panic", "UBSAN", "KASAN", "refcount_t"):
    if bad in serial:
        line = next(l for l in serial.splitlines() if bad in l)
        fail(f"serial log contains {bad!r}: {line.strip()}")
if "VMTEST DONE" not in serial:
    fail("the guest did not finish (no 'VMTEST DONE' on the serial console)")

results = out / "results.txt"
if not results.exists():
    fail("no results.txt came out of the guest")
else:
    for line in results.read_text().splitlines():
        if line.startswith("FAIL"):
            fail(f"guest: {line[5:]}")
        elif line.startswith("PASS"):
            ok(f"guest: {line[5:]}")

dump_path = out / "dump-main.txt"
dump = dump_path.read_text(errors="replace").splitlines() if dump_path.exists() else []

# Each expectation: (description, regex that some record line must match).
EXPECT = [
    ("cat /etc/shadow: openat exit with the path and an fd",
     r"< openat fd=\d+.* name=/etc/shadow"),
    ("execve of cat with its argv",
     r"< execve res=0 exe=cat args=/etc/shadow"),
    ("sh -c 'sh -c cat /etc/hostname': nested execve argv",
     r"< execve res=0 exe=sh args=-c.sh -c \"cat /etc/hostname\""),
    ("execve comm and cwd", r"< execve res=0 .*cwd=/.* comm=cat"),
    ("touch /bin/x creates the file", r"< openat fd=\d+.* name=/bin/x flags=\d+\([^)]*O_CREAT"),
    ("mv ~/.bash_history: rename with both paths",
     r"< rename\S* res=\S+ .*/root/\.bash_history.*/tmp/bash_history\.moved"),
    ("TCP connect to 127.0.0.1:8080 with the tuple",
     r"< connect res=0 tuple=127\.0\.0\.1:\d+->127\.0\.0\.1:8080"),
    ("accept on the listener with the peer tuple",
     r"< accept\S* fd=\d+ tuple=127\.0\.0\.1:\d+->127\.0\.0\.1:8080"),
    ("clone/fork exits", r"< (clone|fork|vfork|clone3) res=\d+"),
    ("process exits", r"> procexit status="),
    ("close exits", r"< close res=0 fd=\d+"),
    ("cd /tmp: chdir with the path", r"< chdir res=0 path=/tmp"),
    ("a shell pipeline: pipe with both fds and the inode",
     r"< pipe2? res=0 fd1=\d+ fd2=\d+ ino=[1-9]"),
    ("a redirection: fcntl duplicates an fd", r"< fcntl res=\d+ fd=\d+ cmd=\S*F_DUPFD"),
    ("setsid", r"< setsid res=\d+"),
    ("sendto from an unconnected UDP socket: data, size and the destination tuple",
     r"< sendto res=9 data=datagram1 fd=\d+ size=9 tuple=127\.0\.0\.1:\d+->127\.0\.0\.1:9999"),
    ("recvfrom: data and the sender as the tuple's source",
     r"< recvfrom res=9 data=datagram1 tuple=127\.0\.0\.1:\d+->127\.0\.0\.1:9999 fd=\d+ size=64"),
    ("sendmsg with two iovecs and an address",
     r"< sendmsg res=9 data=datagram2 fd=\d+ size=9 tuple=127\.0\.0\.1:\d+->127\.0\.0\.1:9999"),
    ("recvmsg: size, data and the sender",
     r"< recvmsg res=9 size=64 data=datagram2 tuple=127\.0\.0\.1:\d+->127\.0\.0\.1:9999"),
    ("an argv longer than max_args_len is cut and marked",
     r"< execve res=0 exe=/usr/bin/true args=0123456789.* \[truncated\]$"),
]
for desc, pattern in EXPECT:
    rx = re.compile(pattern)
    if any(rx.search(l) for l in dump):
        ok(desc)
    else:
        fail(f"{desc}: no record matches /{pattern}/")

stats = [l for l in dump if l.startswith("STATS")]
if not stats:
    fail("dump-main.txt has no STATS line (the dumper did not exit cleanly)")
else:
    fields = dict(kv.split("=") for kv in stats[-1].split()[1:])
    if fields.get("bad") != "0" or fields.get("corrupt") != "0":
        fail(f"undecodable or corrupt records: {stats[-1]}")
    else:
        ok(f"every record decodes ({stats[-1]})")
bad_lines = [l for l in dump if l.startswith("BAD")]
for l in bad_lines[:5]:
    fail(f"record with a wrong layout: {l}")

sys.exit(1 if failures else 0)
