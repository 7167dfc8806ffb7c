#!/usr/bin/env bash
# payments under load, called by bench/run.sh. Args: duration (e.g. 10s), concurrency.
# Starts a private MariaDB (CPU 1) and runs the payments domain service in process (CPU 0):
# CreatePayment and ConfirmDelivery throughput as a ratio to the same database's rate for one
# minimal write transaction measured in the same run (target >= 0.5), with p99 latency.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONCURRENCY=${2:-16}
OUT=$(pwd)/.bench/payments
rm -rf "$OUT"
mkdir -p "$OUT"

bazel build -c opt //bench:payments_bench >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)/bench

source bench/lib.sh
start_bench_mariadb "$OUT" payments_bench

echo
taskset -c 0 "$BIN/payments_bench" --db_port="$db_port" --db_user=root --db_password= \
  --db_server_pid="${pids[-1]}" --db_name=payments_bench --duration="$DURATION" --concurrency="$CONCURRENCY" ${MP_BENCH_PAYMENTS_FLAGS:-}
