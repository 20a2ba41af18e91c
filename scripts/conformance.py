#!/usr/bin/env python3
"""Runs the upstream Falco offline conformance suite against our binary, as a ratchet.

Every case listed in tests/conformance/expected_pass.txt must pass; a listed case that fails
fails this script. Cases that pass but are not listed are reported so the list can grow.
Prints the runner's own `N passed, M failed` summary.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--falco', required=True)
    ap.add_argument('--shared', default=os.path.join(ROOT, '..', 'shared'))
    ap.add_argument('--expected', default=os.path.join(ROOT, 'tests', 'conformance', 'expected_pass.txt'))
    args = ap.parse_args()

    runner = os.path.join(args.shared, 'compat', 'conformance', 'run.py')
    with open(args.expected, encoding='utf-8') as f:
        expected = {l.strip() for l in f if l.strip() and not l.startswith('#')}

    proc = subprocess.run([sys.executable, runner, '--falco', os.path.abspath(args.falco), '--by-needs'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    passed, failed = set(), {}
    for line in proc.stdout.splitlines():
        if line.startswith('PASS '):
            passed.add(line[5:].strip())
        elif line.startswith('FAIL '):
            name, _, why = line[5:].partition(': ')
            failed[name.strip()] = why
    tail = [l for l in proc.stdout.splitlines() if not l.startswith(('PASS ', 'FAIL ', 'SKIP '))]
    print('\n'.join(tail))

    regressions = sorted(expected - passed)
    for name in regressions:
        print('REGRESSION %s: %s' % (name, failed.get(name, 'not run')))
    new = sorted(passed - expected)
    if new:
        print('newly passing (add to %s):' % os.path.relpath(args.expected, ROOT))
        for name in new:
            print('  ' + name)
    if regressions:
        print('%d expected case(s) failed' % len(regressions))
        return 1
    print('conformance: all %d expected cases pass (%d passing in total)' % (len(expected), len(passed)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
