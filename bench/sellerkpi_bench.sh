#!/usr/bin/env bash
# sellerkpi under load, called by bench/run.sh (or alone). Args: duration (e.g. 10s),
# concurrency (ignored: the issue fixes 8 clients; MP_BENCH_SELLERKPI_FLAGS overrides).
# Starts a private MariaDB (CPU 1) and runs sellerkpi's ingestion and store in process
# (CPU 0): events/s in batches of 100 from 8 clients and as single events, each as a ratio to
# the same database's rate for one minimal write transaction measured in the same run
# (targets >= 5 and >= 0.5; each ingestion phase starts once the database has written the
# pages and purged the row versions the phases before it left: --settle), one evaluation of the
# ingested sellers, a replay of the whole log (aggregates and evaluations, twice: differences
# should be 0), then the seconds of one evaluation pass over MP_BENCH_SELLERKPI_EVAL_SELLERS
# sellers (default 100000). MP_BENCH_SELLERKPI_BENCH: another sellerkpi_bench binary to run
# (e.g. a -c opt build of an earlier commit, for a before/after on the same machine).
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
# The database's own settings, for the reference and the events alike: a buffer pool that holds
# what the phases write, and a redo log the phases do not fill. With MariaDB's 96 MB default
# log, InnoDB had to flush pages to free log space in the middle of the batch phase, and in
# some runs every writing statement stalled for a minute or more, until the clients' reads
# timed out (services/sellerkpi/README.md, "Benchmark").
MP_BENCH_MARIADB_FLAGS=${MP_BENCH_MARIADB_FLAGS:---innodb-buffer-pool-size=1G --innodb-log-file-size=1G}
# shellcheck disable=SC2086
start_bench_mariadb "$OUT" sellerkpi_bench $MP_BENCH_MARIADB_FLAGS

echo
taskset -c 0 "${MP_BENCH_SELLERKPI_BENCH:-$BIN/sellerkpi_bench}" --db_port="$db_port" --db_user=root --db_password= \
  --db_name=sellerkpi_bench --duration="$DURATION" --clients=8 --batch=100 \
  --eval_sellers="${MP_BENCH_SELLERKPI_EVAL_SELLERS:-100000}" ${MP_BENCH_SELLERKPI_FLAGS:-}
