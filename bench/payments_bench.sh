#!/usr/bin/env bash
# payments under load, called by bench/run.sh. Args: duration (e.g. 10s), concurrency.
# Starts a private MariaDB (CPU 1) and runs the payments domain service in process (CPU 0):
# CreatePayment and ConfirmDelivery throughput as a ratio to the same database's rate for one
# minimal write transaction measured in the same run (target >= 0.5), with p99 latency.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONCURRENCY=${2:-16}
OUT=$(pwd)/.bench/payments
rm -rf "$OUT"
mkdir -p "$OUT"

bazel build -c opt //services/payments:payments_bench >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)/services/payments

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

db_port=$(free_port)
mariadb-install-db --no-defaults --datadir="$OUT/mariadb" --user="$(id -un)" \
  --auth-root-authentication-method=normal --skip-test-db >"$OUT/mariadb-install.log" 2>&1
taskset -c 1 mariadbd --no-defaults --datadir="$OUT/mariadb" --socket="$OUT/mariadb.sock" \
  --port="$db_port" --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve \
  --log-error="$OUT/mariadb.log" --character-set-server=utf8mb4 \
  --collation-server=utf8mb4_unicode_ci >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
  mariadb --no-defaults -uroot -h127.0.0.1 -P"$db_port" --protocol=tcp -e "SELECT 1" \
    >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb --no-defaults -uroot -h127.0.0.1 -P"$db_port" --protocol=tcp \
  -e "CREATE DATABASE payments_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"

echo
taskset -c 0 "$BIN/payments_bench" --db_port="$db_port" --db_user=root --db_password= \
  --db_name=payments_bench --duration="$DURATION" --concurrency="$CONCURRENCY"
