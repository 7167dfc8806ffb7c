#!/usr/bin/env bash
# Runs one libFuzzer target (built with --config=fuzz) for FUZZ_SECONDS from seeds taken from the
# golden files. Usage: run_fuzzer.sh <router|json> <fuzzer binary>
set -euo pipefail
kind="$1"
fuzzer="$2"
seconds="${FUZZ_SECONDS:-300}"
work="${TEST_TMPDIR:-$(mktemp -d)}/corpus"
out="${TEST_UNDECLARED_OUTPUTS_DIR:-$work/..}"
mkdir -p "$work"
n=0
for f in services/gateway/testdata/golden/*.golden; do
  n=$((n + 1))
  if [ "$kind" = router ]; then
    sed -n 3p "$f" >"$work/seed$n"
  else
    body="$(sed -n 4p "$f")"
    [ -n "$body" ] || continue
    { sed -n '1s/^# \([^ ]*\) .*/\1/p' "$f"; printf '%s' "$body"; } >"$work/seed$n"
  fi
done
echo "fuzz $kind: $(ls "$work" | wc -l) seeds, ${seconds}s"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" -print_final_stats=1 "$work"
