#!/usr/bin/env bash
# Alternates whole benchmark runs of two checkouts — before, after, before, after, ... — on this
# machine, so that a change is judged against runs made under the same conditions. Each figure
# stays a ratio to the reference measured in its own run (raw gRPC echo; for payments the
# database's minimal write transaction). Not a test: it measures.
#   bash bench/compare.sh BEFORE_DIR AFTER_DIR [ROUNDS]      (default 2 rounds)
# MP_BENCH_DURATION and MP_BENCH_CONCURRENCY are passed on to bench/run.sh. Each run's table is
# kept in .bench/compare/<round>-<before|after>.txt of this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$(cd "${1:?BEFORE_DIR}" && pwd)
AFTER=$(cd "${2:?AFTER_DIR}" && pwd)
ROUNDS=${3:-2}
OUT=$(pwd)/.bench/compare
mkdir -p "$OUT"

for round in $(seq 1 "$ROUNDS"); do
  for side in before after; do
    dir=$BEFORE
    [ "$side" = after ] && dir=$AFTER
    echo "== round $round, $side ($dir)"
    (cd "$dir" && bash bench/run.sh) 2>&1 | tee "$OUT/$round-$side.txt"
  done
done
echo "tables in $OUT"
