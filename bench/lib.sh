# Shared by the bench/*_bench.sh scripts (sourced, not run). After sourcing:
#   free_port                     prints a free loopback TCP port
#   pids+=(PID)                   background processes killed when the script exits
#   wait_serving ADDRESS PID LOG  waits until the gRPC health check at ADDRESS answers SERVING;
#                                 exits the script with LOG's tail if PID dies or 30 s pass
#   start_bench_mariadb DIR DB [extra mariadbd options...]
#                                 a private MariaDB under DIR pinned to CPU 1 (beside the load
#                                 generator; the server under test has CPU 0), or to
#                                 MP_BENCH_MARIADB_CPU, with database DB created; sets db_port.
#                                 Root has no password (loopback only).
#   bench_output NAME             sets OUT to an empty .bench/NAME (run from the checkout's root)
#   echo_reference DIR BIN CONCURRENCY DURATION
#                                 sets REFERENCE to raw gRPC echo QPS: bench/run.sh's
#                                 MP_BENCH_REFERENCE_QPS, or when the script runs alone, measured
#                                 as bench/run.sh does (BIN/echo_server pinned to CPU 0,
#                                 BIN/echo_load to CPU 1), its row printed.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap bench_cleanup EXIT

bench_mysql() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$db_port" --protocol=tcp "$@"; }

start_bench_mariadb() {
  local dir=$1 database=$2
  shift 2
  db_port=$(free_port)
  mariadb-install-db --no-defaults --datadir="$dir/mariadb" --user="$(id -un)" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/mariadb-install.log" 2>&1
  taskset -c "${MP_BENCH_MARIADB_CPU:-1}" mariadbd --no-defaults --datadir="$dir/mariadb" \
    --socket="$dir/mariadb.sock" \
    --port="$db_port" --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve \
    --log-error="$dir/mariadb.log" --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_unicode_ci "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 60); do
    bench_mysql -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  bench_mysql -e "CREATE DATABASE $database CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
}

wait_serving() {
  local address=$1 pid=$2 log=$3
  for _ in $(seq 1 60); do
    /usr/bin/python3 scripts/grpc_health.py "$address" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  echo "server under test is not serving at $address; its log ($log):" >&2
  tail -20 "$log" >&2
  exit 1
}

bench_output() {
  OUT=$(pwd)/.bench/$1
  rm -rf "$OUT"
  mkdir -p "$OUT"
}

echo_reference() {
  local dir=$1 bin=$2 concurrency=$3 duration=$4
  REFERENCE=${MP_BENCH_REFERENCE_QPS:-0}
  [ "$REFERENCE" = 0 ] || return 0
  local port
  port=$(free_port)
  taskset -c 0 "$bin/echo_server" --listen_address="127.0.0.1:$port" >"$dir/echo_server.log" 2>&1 &
  local echo_pid=$!
  pids+=($echo_pid)
  for _ in $(seq 1 50); do grep -q listening "$dir/echo_server.log" && break; sleep 0.1; done
  taskset -c 1 "$bin/echo_load" --target="127.0.0.1:$port" --server_pid="$echo_pid" \
    --concurrency="$concurrency" --duration="$duration" --header | tee "$dir/echo.txt"
  kill "$echo_pid"
  wait "$echo_pid" 2>/dev/null || true
  REFERENCE=$(awk 'NR==2 {print $3}' "$dir/echo.txt")
}
