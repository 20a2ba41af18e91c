#!/usr/bin/env python3
"""Daemon runtime benchmark (not a test): memory, start-up and output throughput of `falco`.

    scripts/benches/runtime.py [--falco target/release/falco] [--shared ../shared] [--events 1000000]

Figures, each with a peer measured in the same run:
1. Peak RSS replaying EVENTS events (a capture built by make-capture.py from an upstream sample)
   with the packaged default rules; peer: sysdig (the libs Falco is built on) reading the same
   capture with a filter.
2. Start to the first `/healthz` 200 (engine.kind=nodriver, default rules, webserver on);
   peer: the same binary's `--version` (process start without loading anything).
3. Alerts per second through the file output with keep_alive true vs false (a rule matching
   every read and write of the capture); the ratio is the comparison.
"""
import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RW_RULE = """- rule: Read or write
  desc: every read and write
  condition: evt.type in (read, write)
  output: io by %proc.name (fd=%fd.num)
  priority: WARNING
"""


def peak_rss_kib(cmd):
    """Peak RSS (KiB) and wall time of cmd, via GNU time."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"MAXRSS (\d+)", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return int(m.group(1)), wall, p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def healthz_ok(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def time_to_healthz(falco, rules, work):
    port = free_port()
    cfg = os.path.join(work, "web.yaml")
    with open(cfg, "w") as f:
        f.write("stdout_output:\n  enabled: false\n")
    cmd = [falco, "-c", cfg, "-r", rules, "-o", "engine.kind=nodriver",
           "-o", "webserver.enabled=true", "-o", "webserver.listen_address=127.0.0.1",
           "-o", f"webserver.listen_port={port}", "-o", "log_stderr=false"]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - t0 < 30:
            if healthz_ok(port):
                return time.perf_counter() - t0
            if p.poll() is not None:
                sys.exit(f"falco exited ({p.returncode}) before /healthz answered")
            time.sleep(0.001)
        sys.exit("no /healthz 200 within 30 s")
    finally:
        p.terminate()
        p.wait()


def time_version(falco):
    t0 = time.perf_counter()
    subprocess.run([falco, "--version"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def file_output_rate(falco, capture, rules, work, keep_alive):
    out = os.path.join(work, f"events-{keep_alive}.txt")
    if os.path.exists(out):
        os.remove(out)
    cfg = os.path.join(work, f"file-{keep_alive}.yaml")
    with open(cfg, "w") as f:
        f.write("stdout_output:\n  enabled: false\nfile_output:\n  enabled: true\n"
                f"  keep_alive: {'true' if keep_alive else 'false'}\n  filename: {out}\n")
    t0 = time.perf_counter()
    p = subprocess.run([falco, "-c", cfg, "-r", rules, "-o", "engine.kind=replay",
                        "-o", f"engine.replay.capture_file={capture}", "-o", "log_stderr=false"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"file output run failed: {p.stderr[-2000:]}")
    with open(out, "rb") as f:
        alerts = sum(1 for _ in f)
    return alerts, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--falco", default=os.path.join(ROOT, "target/release/falco"))
    ap.add_argument("--shared", default=os.environ.get("SHARED", os.path.join(ROOT, "../shared")))
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    falco = os.path.abspath(a.falco)
    sample = os.path.join(a.shared, "compat/scap/falco/psp/run_as_user_0_container.scap")
    rules = os.path.join(ROOT, "packaging/rules/falco_rules.yaml")
    work = tempfile.mkdtemp(prefix="falco-bench-runtime-")
    try:
        capture = os.path.join(work, "bench.scap")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/benches/make-capture.py"),
                        sample, capture, str(a.events)], check=True, stdout=subprocess.DEVNULL)
        empty_cfg = os.path.join(work, "replay.yaml")
        with open(empty_cfg, "w") as f:
            f.write("stdout_output:\n  enabled: false\n")

        print(f"== 1. peak RSS replaying {a.events} events with {os.path.relpath(rules, ROOT)}")
        ours, ours_wall, p = peak_rss_kib([falco, "-c", empty_cfg, "-r", rules,
                                           "-o", "engine.kind=replay",
                                           "-o", f"engine.replay.capture_file={capture}",
                                           "-o", "log_stderr=false"])
        detected = re.search(r"Events detected: (\d+)", p.stdout)
        print(f"falco : {ours / 1024:7.1f} MiB peak RSS, {ours_wall:6.2f} s "
              f"({a.events / ours_wall / 1e6:.2f} M events/s), "
              f"alerts {detected.group(1) if detected else '?'}")
        if shutil.which("sysdig"):
            peer, peer_wall, _ = peak_rss_kib(["sysdig", "-r", capture, "-q",
                                               "evt.type=execve and evt.dir=<"])
            print(f"sysdig: {peer / 1024:7.1f} MiB peak RSS, {peer_wall:6.2f} s  "
                  f"(RSS ratio falco/sysdig {ours / peer:.2f}, time ratio {ours_wall / peer_wall:.2f})")
        else:
            print("sysdig: not installed (scripts/setup.sh), no peer")

        print(f"== 2. start to first /healthz 200 (nodriver, default rules), median of {a.runs}")
        t = statistics.median(time_to_healthz(falco, rules, work) for _ in range(a.runs))
        v = statistics.median(time_version(falco) for _ in range(a.runs))
        print(f"healthz: {t * 1000:7.1f} ms; peer `falco --version`: {v * 1000:6.1f} ms "
              f"(ratio {t / v:.1f})")

        print("== 3. alerts/s through the file output")
        rw_rules = os.path.join(work, "rw.yaml")
        with open(rw_rules, "w") as f:
            f.write(RW_RULE)
        rates = {}
        for keep in (True, False):
            alerts, wall = file_output_rate(falco, capture, rw_rules, work, keep)
            rates[keep] = alerts / wall
            print(f"keep_alive={str(keep).lower():5}: {alerts} alerts in {wall:6.2f} s "
                  f"= {rates[keep]:10.0f} alerts/s")
        print(f"ratio keep_alive true/false: {rates[True] / rates[False]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
