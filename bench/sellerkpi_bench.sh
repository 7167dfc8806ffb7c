#!/usr/bin/env bash
# sellerkpi under load, called by bench/run.sh (or alone). Args: duration (e.g. 10s),
# concurrency (ignored: the issue fixes 8 clients; MP_BENCH_SELLERKPI_FLAGS overrides).
# Starts a private MariaDB (CPU 1) and runs sellerkpi's ingestion and store in process
# (CPU 0): events/s in batches of 100 from 8 clients and as single events, each as a ratio to
# the same database's rate for one minimal write transaction measured in the same run
# (targets >= 5 and >= 0.5), one evaluation of the ingested sellers, a replay of the whole log
# (aggregates and evaluations, twice: differences should be 0), then the seconds of one
# evaluation pass over
# MP_BENCH_SELLERKPI_EVAL_SELLERS sellers (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
OUT=$(pwd)/.bench/sellerkpi
rm -rf "$OUT"
mkdir -p "$OUT"

bazel build -c opt //bench:sellerkpi_bench >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)/bench

source bench/lib.sh
start_bench_mariadb "$OUT" sellerkpi_bench

echo
taskset -c 0 "$BIN/sellerkpi_bench" --db_port="$db_port" --db_user=root --db_password= \
  --db_name=sellerkpi_bench --duration="$DURATION" --clients=8 --batch=100 \
  --eval_sellers="${MP_BENCH_SELLERKPI_EVAL_SELLERS:-100000}" ${MP_BENCH_SELLERKPI_FLAGS:-}
