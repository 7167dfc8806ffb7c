#!/usr/bin/env bash
# catalog under load, called by bench/run.sh (MP_BENCH_REFERENCE_QPS: raw echo QPS of the same
# run). Args: duration (e.g. 10s), concurrency. Starts a private MariaDB (on CPU 1, with the
# load generator) and catalog_server pinned to CPU 0 with its default flags, seeds
# MP_BENCH_CATALOG_LISTINGS (100000) LIVE listings, then prints anonymous GetListing and
# ListListings (first page of 20) unfiltered, by a category with its sub-categories (half the
# listings) and by a two-word title query matching 1 % of them, each as a ratio to echo
# (targets: GetListing >= 0.5; ListListings >= 0.3 unfiltered and by category, >= 0.15 text). GetListing first reads
# every listing once (the rate of that pass, all public view cache misses, is printed too),
# then is measured over random listings; then the server is restarted without the cache
# (--public_cache_ttl=0s, which also turns off the first-page cache) and GetListing and the
# three ListListings measured again, every page read from the database. MP_BENCH_CATALOG_FLAGS adds
# catalog_server flags. Run alone (no MP_BENCH_REFERENCE_QPS), it measures raw gRPC echo itself
# after the seed, as bench/run.sh does, and takes the ratios against that.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONCURRENCY=${2:-32}
LISTINGS=${MP_BENCH_CATALOG_LISTINGS:-100000}
source bench/lib.sh
bench_output catalog

bazel build -c opt //services/catalog:catalog_server //bench:catalog_load //bench:echo_server \
  //bench:echo_load \
  >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)/services/catalog
LOAD_BIN=$(bazel info -c opt bazel-bin 2>/dev/null)/bench

start_bench_mariadb "$OUT" catalog --innodb-buffer-pool-size=256M

db_flags=(--db_host=127.0.0.1 --db_port="$db_port" --db_name=catalog --db_user=root
  --db_password=)
"$BIN/catalog_server" --migrate_only --insecure --metrics_address=127.0.0.1:0 "${db_flags[@]}" \
  >"$OUT/migrate.log" 2>&1 || { tail -5 "$OUT/migrate.log"; exit 1; }
"$LOAD_BIN/catalog_load" --mode=seed --listings="$LISTINGS" "${db_flags[@]}" 2>"$OUT/seed.log" ||
  { cat "$OUT/seed.log"; exit 1; }

# The reference: bench/run.sh's raw gRPC echo, or measured here (pinned like the catalog).
echo_reference "$OUT" "$LOAD_BIN" "$CONCURRENCY" "$DURATION"

# Starts catalog_server with extra flags "$@"; sets grpc_port and server_pid.
start_server() {
  grpc_port=$(free_port)
  taskset -c 0 "$BIN/catalog_server" --listen_address="127.0.0.1:$grpc_port" --insecure \
    --metrics_address=127.0.0.1:0 "${db_flags[@]}" --identity_address=127.0.0.1:1 \
    --log_level=warn ${MP_BENCH_CATALOG_FLAGS:-} "$@" >"$OUT/catalog.log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
  wait_serving "127.0.0.1:$grpc_port" "$server_pid" "$OUT/catalog.log"
}
start_server

load() {
  taskset -c 1 "$LOAD_BIN/catalog_load" --target="127.0.0.1:$grpc_port" --server_pid="$server_pid" \
    --reference_qps="$REFERENCE" --listings="$LISTINGS" --duration="$DURATION" \
    --concurrency="$CONCURRENCY" "$@"
}
echo
load --mode=GetListing --header --warm_calls="$LISTINGS"
load --mode=ListListings --list_filter=none
load --mode=ListListings --list_filter=category
load --mode=ListListings --list_filter=text
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
start_server --public_cache_ttl=0s
echo "without the public view cache nor the first-page cache (--public_cache_ttl=0s):"
load --mode=GetListing
load --mode=ListListings --list_filter=none
load --mode=ListListings --list_filter=category
load --mode=ListListings --list_filter=text
