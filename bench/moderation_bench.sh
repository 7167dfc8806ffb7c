#!/usr/bin/env bash
# Moderation rule engine throughput on one core (CPU 1), no storage or RPC; called by
# bench/run.sh. Args: duration (e.g. 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //bench:moderation_throughput >/dev/null 2>&1
echo
taskset -c 1 bazel-bin/bench/moderation_throughput --duration="${1:-5s}" --header
