#!/usr/bin/env bash
# Multi-replica benchmark of payments' background workers (issue 21; not a test). Starts a
# private MariaDB (CPU 1, with this tool's identity stand-in, loader client and EventSink) and
# measures, in one run on one database, the automatic release (payments/s) and the outbox relay
# (events/s) with one payments_server, then with two, then prints the ratios two / one (target
# >= 1.0) and each process's share from its own /metrics. Plaintext (--insecure). The
# payments_server processes float over every core (the two cores shared with MariaDB): they
# are started under taskset -c 0-(nproc-1), since a child inherits this tool's pinning to the
# database's CPU. MP_BENCH_REPLICAS_CPUS pins them elsewhere (a taskset -c list, e.g. 0 or 1).
# The placement changes the figures a lot (tests/replicas_payments/README.md). Each row also
# prints every CPU's busy share during the phase (/proc/stat).
#
#   bash bench/replicas_payments_bench.sh
#
# It measures fixed counts, not a duration: MP_BENCH_REPLICAS_PAYMENTS (default 2000) due
# payments released per replica count; MP_BENCH_REPLICAS_EVENTS (default 10000) events written
# into the outbox per replica count, relayed with the phase's own payment_held and
# payment_released events (2 per payment). The arguments bench/run.sh passes (duration,
# concurrency) are not used. Extra flags of the tool in
# MP_BENCH_REPLICAS_PAYMENTS_FLAGS (e.g. --release_batch=50); the processes' logs go to
# .bench/replicas_payments/.
set -euo pipefail
cd "$(dirname "$0")/.."
PAYMENTS=${MP_BENCH_REPLICAS_PAYMENTS:-2000}
EVENTS=${MP_BENCH_REPLICAS_EVENTS:-10000}
source bench/lib.sh
bench_output replicas_payments

bazel build -c opt //services/payments:payments_server //bench:replicas_payments_bench \
  >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)

# The runs grow the database by about 1 GB (4 rounds of 20,000 payments): with MariaDB's default
# 128 MB buffer pool every phase read more pages from disk than the one before, whatever the
# process count. MP_BENCH_MARIADB_BUFFER_POOL (default 2G) holds it all, as a production
# database sized for its working set would.
start_bench_mariadb "$OUT" replicas_payments \
  --innodb_buffer_pool_size="${MP_BENCH_MARIADB_BUFFER_POOL:-2G}"

echo
TEST_TMPDIR="$OUT" taskset -c "${MP_BENCH_MARIADB_CPU:-1}" "$BIN/bench/replicas_payments_bench" \
  --server_binary="$BIN/services/payments/payments_server" \
  --server_cpus="${MP_BENCH_REPLICAS_CPUS:-0-$(($(nproc) - 1))}" \
  --db_port="$db_port" --db_user=root --db_password= --db_name=replicas_payments \
  --payments="$PAYMENTS" --events="$EVENTS" ${MP_BENCH_REPLICAS_PAYMENTS_FLAGS:-}
