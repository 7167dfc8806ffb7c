#!/usr/bin/env bash
# sellerkpi's enforcement worker with two processes against one: steps per second, same run,
# same database, with the real identity, catalog and payments processes the steps call
# (bench/replicas_enforcement_bench.cc says how a round is made and measured). Not a test.
#
#   bash bench/replicas_enforcement_bench.sh
#
# MP_BENCH_ENFORCEMENT_SELLERS (1000): sellers driven to CRITICAL per round, 6 steps each.
# MP_BENCH_ENFORCEMENT_ORDER ("1 2 2 1"): the rounds' process counts; the summary takes the
# mean rate of each count, so alternating orders weigh a drift of the machine's load on both.
# Every process floats over both cores (the stack's own MariaDB with them), as in production
# on a shared node; the opt build.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_output replicas_enforcement

bazel build -c opt //bench:replicas_enforcement_bench >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)

echo
TEST_TMPDIR="$OUT" TEST_SRCDIR="$BIN/bench/replicas_enforcement_bench.runfiles" \
  TEST_WORKSPACE=marketplace "$BIN/bench/replicas_enforcement_bench" \
  --sellers="${MP_BENCH_ENFORCEMENT_SELLERS:-1000}" --order="${MP_BENCH_ENFORCEMENT_ORDER:-1 2 2 1}"
