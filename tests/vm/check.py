#!/usr/bin/env python3
"""Verdicts of one VM test boot (tests/vm/run.sh): the guest's PASS/FAIL lines, the
recorded workload in dump-main.txt, the daemon's JSON alerts (alerts-1.json, and
alerts-2.json from the daemon started after the first was SIGKILLed) and the serial log
(no WARN, BUG, oops, panic)."""
import json
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
skipped_daemon = False
if not results.exists():
    fail("no results.txt came out of the guest")
else:
    for line in results.read_text().splitlines():
        if line.startswith("FAIL"):
            fail(f"guest: {line[5:]}")
        elif line.startswith("PASS"):
            ok(f"guest: {line[5:]}")
        elif line.startswith("SKIP daemon-alerts"):
            skipped_daemon = True
            print(f"   skip {line[5:]}")

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
     r"< rename\S* res=0 .*/root/\.bash_history.*/root/bash_history\.moved"),
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
read_path = out / "dump-read.txt"
read_dump = read_path.read_text(errors="replace").splitlines() if read_path.exists() else []
if any(re.search(r"< read res=7 data=marker\.? fd=\d+ size=\d+", l) for l in read_dump):
    ok("cat /etc/vm-marker: read exit with the data, fd and size")
else:
    fail(f"dump-read.txt: no read record of /etc/vm-marker "
         f"({len(read_dump)} lines, e.g. {[l for l in read_dump if '< read' in l][:2]})")
# Timestamps are wall-clock nanoseconds: every record falls inside the guest's `date` window
# around the recording, and one thread's records never go back in time.
window_path = out / "dump-main.window"
window = window_path.read_text().split() if window_path.exists() else []
record_ts = []
for l in dump:
    m = re.match(r"(\d{10,}) (\d+) [<>] ", l)
    if m:
        record_ts.append((int(m.group(1)), int(m.group(2))))
if len(window) != 2 or not record_ts:
    fail(f"no wall-clock window or no records to check timestamps against ({window})")
else:
    lo, hi = (int(window[0]) - 2) * 10**9, (int(window[1]) + 2) * 10**9
    outside = [ts for ts, _ in record_ts if not lo <= ts <= hi]
    if outside:
        fail(f"{len(outside)} of {len(record_ts)} record timestamps outside the wall-clock "
             f"window {window}: e.g. {outside[:3]}")
    else:
        ok(f"record timestamps are wall-clock ({len(record_ts)} records within {window})")
    last_by_tid, backwards = {}, []
    for ts, tid in record_ts:
        if ts < last_by_tid.get(tid, 0):
            backwards.append((tid, last_by_tid[tid], ts))
        last_by_tid[tid] = max(ts, last_by_tid.get(tid, 0))
    if backwards:
        fail(f"{len(backwards)} records go back in time within their thread: {backwards[:3]}")
    else:
        ok(f"timestamps never go back within a thread ({len(last_by_tid)} threads)")

# A thread moved between the CPUs 300 times while it opened and closed a file: the reader
# merges the per-CPU rings by timestamp, so its records must never go back in time in the
# merged stream, whichever clock the driver took (clock.txt, from its load message).
hop_path, tid_path = out / "dump-hop.txt", out / "hopper.tid"
clock_path = out / "clock.txt"
clock = clock_path.read_text().strip() if clock_path.exists() else "?"
hopper = tid_path.read_text().strip() if tid_path.exists() else None
hop = []
if hop_path.exists() and hopper:
    for l in hop_path.read_text(errors="replace").splitlines():
        m = re.match(r"(\d+) (\d+) [<>] .* cpu=(\d+)$", l)
        if m and m.group(2) == hopper:
            hop.append((int(m.group(1)), int(m.group(3))))
moves = sum(1 for a, b in zip(hop, hop[1:]) if a[1] != b[1])
back = [(a[0], b[0]) for a, b in zip(hop, hop[1:]) if b[0] < a[0]]
if len(hop) < 100 or moves < 20:
    fail(f"CPU-hopping thread: {len(hop)} records, {moves} CPU changes (want >= 100, >= 20)")
elif back:
    fail(f"CPU-hopping thread: {len(back)} of {len(hop)} records go back in time across "
         f"{moves} CPU changes ({clock}): e.g. {back[:3]}")
else:
    ok(f"CPU-hopping thread: {len(hop)} records in time order across {moves} CPU changes "
       f"({clock})")

bad_lines = [l for l in dump if l.startswith("BAD")]
for l in bad_lines[:5]:
    fail(f"record with a wrong layout: {l}")



# ---- the daemon's JSON alerts (tests/vm/guest/rules.yaml on tests/vm/guest/workload) ----
def alerts(name):
    path = out / name
    found = []
    if not path.exists():
        return found
    for line in path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            found.append(json.loads(line))
        except json.JSONDecodeError as e:
            fail(f"{name}: a line is not JSON ({e}): {line[:200]}")
    return found


def field_ok(value, want):
    text = "" if value is None else str(value)
    if isinstance(want, re.Pattern):
        return want.fullmatch(text) is not None
    return text == str(want)


def expect_alert(name, found, rule, priority, fields):
    matching = [a for a in found if a.get("rule") == rule]
    if not matching:
        fail(f"{name}: no alert of rule {rule!r} (rules alerted: "
             f"{sorted({a.get('rule') for a in found})})")
        return
    for a in matching:
        of = a.get("output_fields", {})
        bad = {k: of.get(k) for k, w in fields.items() if not field_ok(of.get(k), w)}
        if not bad and a.get("priority") == priority and a.get("source") == "syscall":
            ok(f"{name}: {rule}: " + ", ".join(f"{k}={of.get(k)}" for k in fields))
            return
    a = matching[0]
    of = a.get("output_fields", {})
    diffs = [f"{k}={of.get(k)!r} (want {w.pattern if isinstance(w, re.Pattern) else w!r})"
             for k, w in fields.items() if not field_ok(of.get(k), w)]
    if a.get("priority") != priority:
        diffs.append(f"priority={a.get('priority')!r} (want {priority!r})")
    if a.get("source") != "syscall":
        diffs.append(f"source={a.get('source')!r} (want 'syscall')")
    fail(f"{name}: {rule}: {len(matching)} alert(s), none with the expected fields; "
         f"first: {'; '.join(diffs)}")


if skipped_daemon:
    pass
elif not (out / "alerts-1.json").exists():
    fail("alerts-1.json missing: the daemon did not run in the guest")
else:
    first = alerts("alerts-1.json")
    expect_alert("alerts-1.json", first, "VM shadow file read", "Warning", {
        "proc.name": "cat", "proc.cmdline": "cat /etc/shadow", "proc.pname": "workload",
        "proc.aname[2]": "init", "fd.name": "/etc/shadow", "user.name": "root",
        "evt.type": "openat"})
    expect_alert("alerts-1.json", first, "VM file created below /bin", "Error", {
        "proc.name": "touch", "proc.cmdline": "touch /bin/x", "proc.pname": "workload",
        "fd.name": "/bin/x", "user.name": "root", "evt.type": "openat"})
    expect_alert("alerts-1.json", first, "VM shell history moved", "Warning", {
        "proc.name": "mv", "proc.cmdline": "mv /root/.bash_history /root/bash_history.moved",
        "proc.pname": "workload", "user.name": "root",
        "evt.type": re.compile(r"rename(at2?)?"),
        "evt.arg.oldpath": re.compile(r".*/root/\.bash_history|\.bash_history"),
        "evt.arg.newpath": re.compile(r".*/root/bash_history\.moved")})
    expect_alert("alerts-1.json", first, "VM nested shell ran cat", "Notice", {
        "proc.name": "cat", "proc.cmdline": "cat /etc/hostname", "proc.pname": "sh",
        "proc.aname[2]": "sh", "proc.aname[3]": "workload", "user.name": "root",
        "evt.type": "execve"})
    expect_alert("alerts-1.json", first, "VM connection to localhost 8080", "Notice", {
        "proc.name": "nc", "proc.cmdline": "nc -w 2 127.0.0.1 8080",
        "fd.name": re.compile(r"127\.0\.0\.1:\d+->127\.0\.0\.1:8080"),
        "fd.cip": "127.0.0.1", "fd.cport": re.compile(r"[1-9]\d*"), "fd.sip": "127.0.0.1",
        "fd.sport": "8080", "fd.l4proto": "tcp", "user.name": "root", "evt.type": "connect"})
    second = alerts("alerts-2.json")
    expect_alert("alerts-2.json (after SIGKILL of the first daemon)", second,
                 "VM shadow file read", "Warning", {
                     "proc.name": "cat", "proc.cmdline": "cat /etc/shadow",
                     "proc.pname": "dash", "fd.name": "/etc/shadow", "user.name": "root"})
    # Without -A, read(2) stays out of the interest set (Falco's default-ignored I/O family).
    silent = [a for a in first + second if a.get("rule") == "VM marker file read"]
    if silent:
        fail(f"the marker rule alerted without -A: {silent[0].get('output')}")
    else:
        ok("without -A: no alert on read(2) (the marker rule stays silent)")

    # Step 1d: the daemon with -A on a 64 KiB ring under a read/write storm.
    drops_run = alerts("alerts-drops.json")
    expect_alert("alerts-drops.json (-A)", drops_run, "VM marker file read", "Notice", {
        "proc.name": "cat", "fd.name": "/etc/vm-marker", "evt.type": "read",
        "user.name": "root"})
    drop_alerts = [a for a in drops_run if a.get("rule") == "Falco internal: syscall event drop"]
    buffer_drops = [a for a in drop_alerts
                    if int(a.get("output_fields", {}).get("n_drops_buffer_total", "0")) > 0]
    if not buffer_drops:
        fail(f"alerts-drops.json: no drop alert with n_drops_buffer_total > 0 "
             f"({len(drop_alerts)} drop alerts; driver: "
             f"{(out / 'drops-stats.txt').read_text(errors='replace').strip() if (out / 'drops-stats.txt').exists() else '?'})")
    else:
        a = buffer_drops[0]
        of = a["output_fields"]
        msg_ok = re.search(r"Falco internal: syscall event drop\. (\d+) system calls "
                           r"dropped in last second\.", a.get("output", ""))
        if a.get("priority") != "Debug" or not msg_ok or msg_ok.group(1) != of.get("n_drops"):
            fail(f"alerts-drops.json: drop alert malformed: {a}")
        else:
            ok(f"drop alert from the live ring: {len(buffer_drops)} alert(s), first "
               f"n_drops={of.get('n_drops')} n_evts={of.get('n_evts')} "
               f"n_drops_buffer_total={of.get('n_drops_buffer_total')}")
    err = (out / "daemon-drops.err").read_text(errors="replace") if (out / "daemon-drops.err").exists() else ""
    if "Falco internal: syscall event drop." in err:
        ok("drop log line on the daemon's stderr")
    else:
        fail(f"daemon-drops.err: no drop log line: {err[-300:]}")

sys.exit(1 if failures else 0)
