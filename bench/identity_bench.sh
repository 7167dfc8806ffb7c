#!/usr/bin/env bash
# identity under load, called by bench/run.sh (MP_BENCH_REFERENCE_QPS: raw echo QPS of the same
# run). Args: duration (e.g. 10s), concurrency. Starts a private MariaDB and identity_server
# pinned to CPU 0 (the database on CPU 1 with the load generator, as a remote database would
# cost the server nothing), then prints:
#   GetAccount (valid token, verified and revocation-checked) and GetSigningKeys as ratios to
#   echo; Login throughput with the default Argon2id parameters (19 MiB, 2 iterations); and
#   Login and GetAccount at once, with GetAccount's p99 against the 20 ms target.
#   MP_BENCH_IDENTITY_MODES: the loads to run (default: all four).
#   MP_BENCH_IDENTITY_SERVER: another identity_server binary to measure (e.g. a build of an
#   earlier commit, for a before/after comparison on the same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONCURRENCY=${2:-32}
LOGIN_CONCURRENCY=${MP_BENCH_LOGIN_CONCURRENCY:-4}
REFERENCE=${MP_BENCH_REFERENCE_QPS:-0}
OUT=$(pwd)/.bench/identity
rm -rf "$OUT"
mkdir -p "$OUT/secrets"
chmod 700 "$OUT/secrets"

bazel build -c opt //services/identity:identity_server //bench:identity_load \
  >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)

source bench/lib.sh
start_bench_mariadb "$OUT" identity

(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$OUT/secrets/kek")
grpc_port=$(free_port)
taskset -c 0 "${MP_BENCH_IDENTITY_SERVER:-$BIN/services/identity/identity_server}" --listen_address="127.0.0.1:$grpc_port" --insecure \
  --metrics_address=127.0.0.1:0 --db_host=127.0.0.1 --db_port="$db_port" --db_name=identity \
  --db_user=root --db_password= --signing_key_encryption_key_file="$OUT/secrets/kek" \
  --log_level=warn >"$OUT/identity.log" 2>&1 &
server_pid=$!
pids+=($server_pid)
wait_serving "127.0.0.1:$grpc_port" "$server_pid" "$OUT/identity.log"

load() {
  taskset -c 1 "$BIN/bench/identity_load" --target="127.0.0.1:$grpc_port" --server_pid="$server_pid" \
    --reference_qps="$REFERENCE" --duration="$DURATION" --concurrency="$CONCURRENCY" \
    --login_concurrency="$LOGIN_CONCURRENCY" "$@"
}
# MP_BENCH_IDENTITY_MODES picks the loads (space-separated), e.g. "GetAccount" alone.
MODES=${MP_BENCH_IDENTITY_MODES:-GetAccount GetSigningKeys Login Login+GetAccount}
echo
header=--header
for mode in $MODES; do
  load --mode="$mode" $header
  header=
done
