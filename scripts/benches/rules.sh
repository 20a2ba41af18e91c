#!/usr/bin/env bash
# Rules engine benchmarks: load+compile of the upstream rulesets vs a YAML-only peer.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=${SHARED:-$PWD/../shared} nice -n 10 cargo bench -p falco --bench rules_load --bench rules_match
