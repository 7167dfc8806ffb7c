#!/usr/bin/env bash
# What mutual TLS costs a gRPC call: the echo reference served and called in plaintext, then
# over mutual TLS (the platform's default, with a throwaway CA from scripts/make_tls.sh), same
# run, same pinning (server on CPU 0, load on CPU 1). One long-lived channel, as the services
# keep theirs: the handshake is paid once; what is measured is the per-call encryption.
#   bash bench/tls_bench.sh [DURATION] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONCURRENCY=${2:-32}
OUT=.bench/tls
mkdir -p "$OUT"
bazel build -c opt //bench:echo_server //bench:echo_load >"$OUT/build.log" 2>&1 \
  || { tail -30 "$OUT/build.log"; exit 1; }
bash scripts/make_tls.sh "$OUT/pki"

run() {  # run NAME [--tls_dir=DIR]: one row of the table
  local name=$1; shift
  local port; port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  taskset -c 0 bazel-bin/bench/echo_server --listen_address="127.0.0.1:$port" "$@" \
    >"$OUT/echo_server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 50); do grep -q listening "$OUT/echo_server.log" && break; sleep 0.1; done
  taskset -c 1 bazel-bin/bench/echo_load --target="127.0.0.1:$port" --server_pid=$pid \
    --concurrency="$CONCURRENCY" --duration="$DURATION" --name="$name" "$@" $header
  kill $pid; wait $pid 2>/dev/null || true
}
header=--header
run "echo, plaintext" | tee "$OUT/plain.txt"
header=
run "echo, mutual TLS" --tls_dir="$OUT/pki" | tee "$OUT/tls.txt"
# qps is the 8th column from the end (names have spaces).
plain=$(awk 'NR==2 {print $(NF-7)}' "$OUT/plain.txt")
tls=$(awk 'NR==1 {print $(NF-7)}' "$OUT/tls.txt")
awk -v p="$plain" -v t="$tls" 'BEGIN { printf "mutual TLS / plaintext QPS: %.2f\n", t / p }'
