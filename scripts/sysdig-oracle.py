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
# Ends every printed event: field values may contain newlines.
EOL = "\x1e\n"

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
    "fd.l4proto", "fd.sockfamily", "fd.is_server", "fd.containername", "fd.uid",
    "container.id", "container.name", "container.image", "container.image.repository",
    "container.image.tag", "container.privileged", "container.type",
]

TYPE_COL = FIELDS.index("evt.type")
DIR_COL = FIELDS.index("evt.dir")

# Captures sysdig cannot read (we can).
SKIP_FILES = {
    "libs/curl_google_comments.scap":
        "sysdig 0.29.3 cannot open it (SHB options, supported since libs 0.21); "
        "our reader handles it, see daemon/tests/scap_reader.rs",
}

# Value rewrites applied to our output before comparing: (fields, ours, as sysdig prints, why).
NORMALIZE = [
    (("evt.args", "evt.info", "evt.arg[0]"), "AF_LOCAL|AF_UNIX", "AF_LOCAL",
     "Falco 0.39 (libs 0.18) prints every name of an enum value equal to it "
     "(events_param unit test asserts AF_LOCAL|AF_UNIX); sysdig 0.29.3 prints the first"),
]

# Captures whose evt.num sysdig counts differently: file -> reason.
RENUMBER = {
    "libs/sample.scap":
        "written by libs 0.11+; its 95 leading useradded/groupadded events are unknown to "
        "sysdig 0.29.3, which drops them uncounted; Falco 0.39 counts them in evt.num",
}

SYSDIG_GID = ("sysdig 0.29.3 prints group.gid with garbage upper bits (8589934591, "
              "25769803776...: the u32 gid read as a wider integer); ours is the u32 gid")
SYSDIG_LOGIN = ("sysdig 0.29.3 apparently misreads this capture's (libs 0.11+) thread table "
                "layout: loginuid -420151296, tty 0; ours come from the fields the layout has")
SIGRETURN = ("generic-event syscall names: Falco 0.39's table names syscall id 15 on "
             "x86_64 rt_sigreturn, sysdig 0.29.3 prints sigreturn")

CLIENTPORT = ("sysdig 0.29.3's fd.cport falls through to fd.cproto for a socket that has a "
              "role but no client port (a unix socket, a listening socket) and prints the "
              "empty string's bytes as port 0; libs 0.18 (sinsp_filtercheck_fd.cpp, "
              "TYPE_CLIENTPORT) breaks out of the case: <NA>")
CONNECT_ENTER = ("connect enter without the address parameter (captures from drivers older "
                 "than the addr parameter): libs 0.18 (parsers.cpp parse_connect_enter, "
                 "get_num_params() < 2) forgets the destination (dip/dport 0) and renames the "
                 "socket from its tuple (0.0.0.0:0->0.0.0.0:0, ::1:38255->:::0), so the exit's "
                 "tuple then sets the new destination; sysdig 0.29.3 predates that and keeps "
                 "the old name and destination")
THREAD_PARENT = ("libs 0.18 (parsers.cpp parse_clone_exit_caller/child): a CLONE_THREAD "
                 "child's parent is the caller's parent ('the parent is the parent of the "
                 "calling process'): curl's thread shows bash; sysdig 0.29.3 made the calling "
                 "thread its parent (curl)")
LOGINUID = ("execve's loginuid is PT_UID in libs 0.18's event table and the 'no uid' value "
            "prints as -1(<NONE>) (event.cpp, PT_UID); sysdig 0.29.3's table typed it INT32: -1")

# (field, file or '*') -> reason. Deliberate: sysdig 0.29.3 differs from Falco 0.39 here.
DIFFERENCES = {
    ("group.gid", "*"): SYSDIG_GID,
    ("evt.type", "falco/psp/run_as_user_0_container.scap"): SIGRETURN,
    ("evt.arg[0]", "falco/psp/run_as_user_0_container.scap"): SIGRETURN,
    ("proc.tty", "libs/sample.scap"): SYSDIG_LOGIN,
    ("user.loginname", "libs/sample.scap"): SYSDIG_LOGIN,
    ("user.loginuid", "libs/sample.scap"): SYSDIG_LOGIN,
    ("fd.cport", "libs/sample.scap"): CLIENTPORT,
    ("fd.cport", "libs/single_ipv6_conn.scap"): CLIENTPORT,
    ("fd.cport", "falco/psp/run_as_user_0_container.scap"): CLIENTPORT,
    ("proc.pname", "libs/curl_google.scap"): THREAD_PARENT,
    ("proc.pcmdline", "libs/curl_google.scap"): THREAD_PARENT,
    ("evt.args", "falco/psp/run_as_user_0_container.scap"): LOGINUID,
    ("evt.info", "falco/psp/run_as_user_0_container.scap"): LOGINUID,
    ("evt.args", "falco/psp/run_as_user_65534_container.scap"): LOGINUID,
    ("evt.info", "falco/psp/run_as_user_65534_container.scap"): LOGINUID,
}
for _capture, _fields in {
    "falco/connect_localhost.scap": ("fd.name", "fd.containername"),
    "libs/curl_google.scap": ("fd.name", "fd.containername"),
    "libs/single_ipv6_conn.scap": ("fd.name", "fd.containername"),
    "libs/test_ipv6_client.scap": ("fd.name", "fd.containername", "fd.is_server", "fd.sip",
                                   "fd.sport", "fd.rip", "fd.rport"),
}.items():
    for _field in _fields + ("evt.arg.fd", "evt.arg[0]", "evt.args", "evt.info"):
        DIFFERENCES[(_field, _capture)] = CONNECT_ENTER

# NOT deliberate: differences not yet resolved (either our state tracking is wrong or it is
# a sysdig 0.29.3 / libs 2022 behaviour Falco 0.39 no longer has; not yet settled which).
# Each entry is skipped so the rest of the comparison guards against regressions; add one
# only with the reason it is open.
OPEN_DIFFERENCES = {}

# Events sysdig prints that we do not: file -> {evt.num: reason}.
EXTRA_SYSDIG_EVENTS = {
    "falco/psp/privileged.scap": {
        "1405": "open: sysdig 0.29.3 prints this container JSON event (it hides the ones of "
                "the other captures); internal events are not printed by us",
    },
}


def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if r.returncode != 0:
        sys.exit(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.decode(errors='replace')}")
    return r.stdout.decode("utf-8", errors="replace")


def table(output, by_position=False):
    """Events keyed by evt.num (or by their position among the printed events)."""
    rows = {}
    for i, line in enumerate(output.split(EOL)):
        if not line:
            continue
        cols = line.split(SEP)
        rows[str(i + 1) if by_position else cols[0]] = cols
    return rows


def normalize(field, value):
    for fields, old, new, _ in NORMALIZE:
        if field in fields:
            value = value.replace(old, new)
    return value


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
    fmt = SEP.join("%" + f for f in FIELDS) + EOL.rstrip("\n")
    env = dict(os.environ, TZ="UTC")
    failures = 0
    compared = 0
    for rel in files:
        if rel in SKIP_FILES:
            print(f"skip {rel}: {SKIP_FILES[rel]}")
            continue
        path = os.path.join(root, rel)
        renumber = rel in RENUMBER
        theirs = table(run(["sysdig", "-r", path, "-p", "*" + fmt], env), renumber)
        ours = table(run([args.falco, "--print-events", fmt, "-e", path], env), renumber)
        for num, why in EXTRA_SYSDIG_EVENTS.get(rel, {}).items():
            theirs.pop(num, None)
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
                if any((f, w) in d for w in (rel, "*") for d in (DIFFERENCES, OPEN_DIFFERENCES)):
                    continue
                if renumber and f == "evt.num":
                    continue
                tv = t[i] if i < len(t) else ""
                ov = normalize(f, o[i] if i < len(o) else "")
                compared += 1
                if tv != ov:
                    bad[f].append((num, tv, ov))
        for f, items in sorted(bad.items()):
            failures += 1
            print(f"FAIL {rel}: {f}: {len(items)} of {len(theirs)} events differ")
            for num, tv, ov in items[: args.show]:
                et = theirs[num][TYPE_COL] + " " + theirs[num][DIR_COL]
                print(f"    evt {num} {et}: sysdig={tv[:200]!r}")
                print(f"    evt {num} {et}: ours  ={ov[:200]!r}")
        if not bad and not missing and not extra:
            print(f"ok   {rel}: {len(theirs)} events x {len(FIELDS)} fields")
    print(f"{compared} values compared; documented differences: {len(DIFFERENCES)}")
    print(f"open (not yet resolved) differences: {len(OPEN_DIFFERENCES)} (field, capture) pairs")
    for (f, where), why in sorted(OPEN_DIFFERENCES.items()):
        print(f"  {f} [{where}]: {why}")
    for fields, old, new, why in NORMALIZE:
        print(f"  ours {old!r} read as {new!r} in {', '.join(fields)}: {why}")
    for rel, why in RENUMBER.items():
        print(f"  {rel}: events matched by position, evt.num not compared: {why}")
    for rel, nums in EXTRA_SYSDIG_EVENTS.items():
        for num, why in nums.items():
            print(f"  {rel}: sysdig's event {num} not expected from us: {why}")
    for (f, where), why in sorted(DIFFERENCES.items()):
        print(f"  {f} [{where}]: {why}")
    if failures:
        sys.exit(f"sysdig oracle: {failures} mismatch groups")
    print("sysdig oracle: all captures match")


if __name__ == "__main__":
    main()
