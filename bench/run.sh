#!/usr/bin/env bash
# Runs every benchmark and prints one table. Not a test: it measures.
# The server under test is pinned to CPU 0 and the load generator to CPU 1 (taskset), and every
# figure is also given as a ratio to raw gRPC echo measured in the same run.
#   MP_BENCH_DURATION (default 10s), MP_BENCH_CONCURRENCY (default 32)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${MP_BENCH_DURATION:-10s}
CONCURRENCY=${MP_BENCH_CONCURRENCY:-32}
OUT=.bench
mkdir -p "$OUT"

bash scripts/setup.sh >/dev/null
bazel build -c opt //bench:all >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }

# taskset execs the program, so $! of a pinned background server is the server's own pid.
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed to pin processes"; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 bazel-bin/bench/echo_server --listen_address=127.0.0.1:$port >"$OUT/echo_server.log" 2>&1 &
echo_pid=$!
trap 'kill $echo_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do grep -q listening "$OUT/echo_server.log" && break; sleep 0.1; done

taskset -c 1 bazel-bin/bench/echo_load --target=127.0.0.1:$port --server_pid=$echo_pid \
  --concurrency="$CONCURRENCY" --duration="$DURATION" --header | tee "$OUT/echo.txt"
kill $echo_pid; wait $echo_pid 2>/dev/null || true
reference_qps=$(awk 'NR==2 {print $3}' "$OUT/echo.txt")
export MP_BENCH_REFERENCE_QPS=$reference_qps

# Each service adds bench/<service>_bench.sh, run here with the reference figure exported.
for script in bench/*_bench.sh; do
  [ -f "$script" ] || continue
  bash "$script" "$DURATION" "$CONCURRENCY"
done
