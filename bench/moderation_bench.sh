#!/usr/bin/env bash
# Moderation cost on one core (CPU 1), no storage or RPC; called by bench/run.sh.
# bench/moderation_bench.cc: FoldText, the rule engine (Evaluate) and the category model
# (Predict), each alone, Evaluate with the model as the server runs it, and the rules plus a
# prediction for every listing, one thread, over the listings of
# services/catalog/data/moderation_corpus.jsonl (their own length mix, median reported), then
# over the same listings with 5,000-character descriptions. Target: Evaluate with the model
# >= 20,000 listings/s/core on the corpus mix. Args: duration per measurement (e.g. 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build -c opt //bench:moderation_bench >/dev/null 2>&1 ||
  { bazel build -c opt //bench:moderation_bench; exit 1; }
echo
taskset -c 1 bazel-bin/bench/moderation_bench --duration="${1:-5s}" --header
