#!/usr/bin/env bash
# support under load, called by bench/run.sh (MP_BENCH_REFERENCE_QPS: raw echo QPS of the same
# run) or alone (then it measures raw gRPC echo itself, as bench/run.sh does). Args: duration
# (e.g. 10s), concurrency. Not a test: it measures.
#
# The setup: support_server as a real process pinned to CPU 0 with its default flags (gRPC,
# token verification, the revocation check, the permission table, the store, its background
# workers); a private MariaDB, the load generator and the fakes support_server calls on CPU 1.
# The fakes (bench/support_load --mode=fakes) are tests/support's FakeIdentity (signing keys,
# support's service token) and a payments ListPayments that answers every order id with a
# payment of the calling buyer from memory: CreateTicket still makes its gRPC call to payments
# with support's service token, but payments' own cost (its database read) is not measured here
# (as bench/payments_bench.cc approves sellers without identity). Buyers' access tokens are
# signed with the fakes' key.
#
# It prints, each with p50/p99/p99.9 latency and support_server's CPU seconds (and under each
# gRPC row support_server's and MariaDB's CPU and the statements and commits per call, and
# InnoDB's row lock waits and deadlocks per 1000 calls):
#   minimal write tx   the database's rate for one minimal write transaction (START TRANSACTION;
#                      INSERT one row; COMMIT) from CPU 0 with the same concurrency, measured in
#                      this run: the reference of the two writes (srv_cpu: MariaDB's);
#   CreateTicket       buyers opening QUESTION tickets (4 channels), each on a new order: ratio
#                      to the minimal write tx (target >= 0.5);
#   AddTicketMessage   buyers' PUBLIC messages spread over 2,000 tickets of theirs (made
#                      first, untimed): ratio to the minimal write tx (target >= 0.5);
#   GetTicket          buyers reading those tickets: ratio to raw echo (target >= 0.5);
#   SLA scanner        support_server stopped, MP_BENCH_SUPPORT_TICKETS (100000) OPEN tickets
#                      copied in SQL from one the server wrote (messages, history, clocks), of
#                      which MP_BENCH_SUPPORT_DUE_CLOCKS (10000) have their level-1 FIRST_REPLY
#                      clock due (half a breach with its escalation, half a warning); the server
#                      started again with its default scanner (every 15 s, batches of 200, a
#                      full batch goes on at once); clocks per second from the first clock
#                      transaction to the last, and the time per clock transaction (p50, p99,
#                      max: the gaps between the scanner's consecutive history lines).
# MP_BENCH_SUPPORT_FLAGS adds support_server flags. MP_BENCH_SUPPORT_SERVER: another
# support_server binary to measure (e.g. a build of an earlier commit, for a before/after
# comparison on the same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_output support
DURATION=${1:-10s}
CONCURRENCY=${2:-32}
TICKETS=${MP_BENCH_SUPPORT_TICKETS:-100000}
DUE_CLOCKS=${MP_BENCH_SUPPORT_DUE_CLOCKS:-10000}

bazel build -c opt //services/support:support_server //bench:support_load //bench:echo_server \
  //bench:echo_load >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
LOAD=$BIN/bench/support_load

start_bench_mariadb "$OUT" support --innodb-buffer-pool-size=256M
db_pid=${pids[-1]}
db_flags=(--db_host=127.0.0.1 --db_port="$db_port" --db_name=support --db_user=root
  --db_password=)

fakes_port=$(free_port)
taskset -c 1 "$LOAD" --mode=fakes --listen_address="127.0.0.1:$fakes_port" \
  --key_file="$OUT/signing_key.pem" >"$OUT/fakes.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q listening "$OUT/fakes.log" && break; sleep 0.1; done
server_flags=("${db_flags[@]}" --identity_address="127.0.0.1:$fakes_port"
  --token_issuer=identity --service_client_id=support --service_client_secret=support-secret
  --payments_address="127.0.0.1:$fakes_port" --event_subscribers= --log_level=warn)
SERVER=${MP_BENCH_SUPPORT_SERVER:-$BIN/services/support/support_server}
"$SERVER" --migrate_only --insecure --metrics_address=127.0.0.1:0 \
  "${server_flags[@]}" >"$OUT/migrate.log" 2>&1 || { tail -5 "$OUT/migrate.log"; exit 1; }

echo
echo_reference "$OUT" "$BIN/bench" "$CONCURRENCY" "$DURATION"

# The writes' reference, from CPU 0 (where support_server runs) with the same concurrency.
taskset -c 0 "$LOAD" --mode=minimal "${db_flags[@]}" --server_pid="$db_pid" \
  --concurrency="$CONCURRENCY" --duration="$DURATION" --header | tee "$OUT/minimal.txt"
MINIMAL=$(tail -1 "$OUT/minimal.txt" | awk '{print $(NF-7)}')

# Starts support_server with extra flags "$@"; sets grpc_port and server_pid.
start_server() {
  grpc_port=$(free_port)
  taskset -c 0 "$SERVER" --listen_address="127.0.0.1:$grpc_port" --insecure \
    --metrics_address=127.0.0.1:0 "${server_flags[@]}" ${MP_BENCH_SUPPORT_FLAGS:-} "$@" \
    >>"$OUT/support.log" 2>&1 &
  server_pid=$!
  pids+=($server_pid)
  wait_serving "127.0.0.1:$grpc_port" "$server_pid" "$OUT/support.log"
}
stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
}

start_server
load() {
  taskset -c 1 "$LOAD" --target="127.0.0.1:$grpc_port" --server_pid="$server_pid" \
    "${db_flags[@]}" --db_server_pid="$db_pid" --key_file="$OUT/signing_key.pem" \
    --duration="$DURATION" --concurrency="$CONCURRENCY" "$@"
}
load --mode=CreateTicket --reference_qps="$MINIMAL"
load --mode=AddTicketMessage --reference_qps="$MINIMAL"
load --mode=GetTicket --reference_qps="$REFERENCE"
echo "(ratios: CreateTicket and AddTicketMessage to the minimal write tx, GetTicket to raw echo)"
stop_server

taskset -c 1 "$LOAD" --mode=seed "${db_flags[@]}" --seed_tickets="$TICKETS" \
  --due_clocks="$DUE_CLOCKS"
start_server
taskset -c 1 "$LOAD" --mode=scan "${db_flags[@]}" --server_pid="$server_pid" \
  --db_server_pid="$db_pid"
stop_server
