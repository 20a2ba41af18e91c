#!/usr/bin/env python3
"""Sysdig oracle: for every capture in shared/compat/scap, print a broad set of fields for
every event with our binary (`falco --print-events`) and with `sysdig -r FILE -p`, and
compare them field by field, event by event (matched on evt.num).

Deliberate differences are listed in DIFFERENCES below with the reason; anything else that
differs fails the test. Usage: sysdig-oracle.py --falco target/release/falco --shared DIR
"""
import argparse
import os
import shutil
import subprocess
import sys
from collections import defaultdict

SEP = "\x1f"

FIELDS = [
    "evt.num", "evt.time", "evt.rawtime", "evt.type", "evt.dir", "evt.args", "evt.info",
    "evt.res", "evt.rawres", "evt.failed", "evt.cpu", "evt.is_io", "evt.is_io_read",
    "evt.is_io_write", "evt.is_open_read", "evt.is_open_write", "evt.is_wait",
    "evt.arg.fd", "evt.arg.name", "evt.arg.flags", "evt.arg.res", "evt.arg[0]",
    "evt.rawarg.res",
    "proc.pid", "proc.exe", "proc.name", "proc.args", "proc.cmdline", "proc.exeline",
    "proc.cwd", "proc.ppid", "proc.pname", "proc.pcmdline", "proc.aname[2]", "proc.apid[2]",
    "proc.aname[3]", "proc.exepath", "proc.sid", "proc.sname", "proc.tty", "proc.vpgid",
    "proc.vpid", "proc.loginshellid", "proc.env",
    "thread.tid", "thread.vtid", "thread.ismain",
    "user.uid", "user.name", "user.homedir", "user.shell", "user.loginuid", "user.loginname",
    "group.gid", "group.name",
    "fd.num", "fd.type", "fd.typechar", "fd.name", "fd.directory", "fd.filename",
    "fd.cip", "fd.sip", "fd.lip", "fd.rip", "fd.cport", "fd.sport", "fd.lport", "fd.rport",
    "fd.l4proto", "fd.sockfamily", "fd.is_server", "fd.containername",
    "container.id", "container.name", "container.image", "container.image.repository",
    "container.image.tag", "container.privileged", "container.type",
]

# Captures sysdig cannot read (we can).
SKIP_FILES = {
    "libs/curl_google_comments.scap":
        "sysdig 0.29.3 cannot open it (SHB options, supported since libs 0.21); "
        "our reader handles it, see daemon/tests/scap_reader.rs",
}

# (field, file or '*') -> reason. Values of these fields are not compared there.
DIFFERENCES = {
}


def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode(errors='replace')}")
    return r.stdout.decode("utf-8", errors="replace")


def table(output):
    rows = {}
    for line in output.split("\n"):
        if not line:
            continue
        cols = line.split(SEP)
        rows[cols[0]] = cols
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--falco", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--show", type=int, default=5, help="examples shown per mismatching field")
    args = ap.parse_args()
    if not shutil.which("sysdig"):
        sys.exit("sysdig is not installed (scripts/setup.sh installs it)")
    root = os.path.join(args.shared, "compat", "scap")
    files = []
    for d, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith(".scap"):
                files.append(os.path.relpath(os.path.join(d, n), root))
    files.sort()
    fmt = SEP.join("%" + f for f in FIELDS)
    env = dict(os.environ, TZ="UTC")
    failures = 0
    compared = 0
    for rel in files:
        if rel in SKIP_FILES:
            print(f"skip {rel}: {SKIP_FILES[rel]}")
            continue
        path = os.path.join(root, rel)
        theirs = table(run(["sysdig", "-r", path, "-p", "*" + fmt], env))
        ours = table(run([args.falco, "--print-events", fmt, "-e", path], env))
        missing = [n for n in theirs if n not in ours]
        extra = [n for n in ours if n not in theirs]
        if missing or extra:
            failures += 1
            print(f"FAIL {rel}: events only in sysdig {missing[:10]} ({len(missing)}), "
                  f"only in ours {extra[:10]} ({len(extra)})")
        bad = defaultdict(list)
        for num, t in theirs.items():
            o = ours.get(num)
            if o is None:
                continue
            for i, f in enumerate(FIELDS):
                if (f, rel) in DIFFERENCES or (f, "*") in DIFFERENCES:
                    continue
                tv = t[i] if i < len(t) else ""
                ov = o[i] if i < len(o) else ""
                compared += 1
                if tv != ov:
                    bad[f].append((num, tv, ov))
        for f, items in sorted(bad.items()):
            failures += 1
            print(f"FAIL {rel}: {f}: {len(items)} of {len(theirs)} events differ")
            for num, tv, ov in items[: args.show]:
                print(f"    evt {num}: sysdig={tv[:200]!r}")
                print(f"    evt {num}: ours  ={ov[:200]!r}")
        if not bad and not missing and not extra:
            print(f"ok   {rel}: {len(theirs)} events x {len(FIELDS)} fields")
    print(f"{compared} values compared; documented differences: {len(DIFFERENCES)}")
    for (f, where), why in sorted(DIFFERENCES.items()):
        print(f"  {f} [{where}]: {why}")
    if failures:
        sys.exit(f"sysdig oracle: {failures} mismatch groups")
    print("sysdig oracle: all captures match")


if __name__ == "__main__":
    main()
