#!/usr/bin/env bash
# The gateway's overhead against direct gRPC (a benchmark, not a test; services/gateway/README.md
# "Benchmark"). Usage:
#
#   bash bench/gateway_bench.sh [duration (10s)] [concurrency (32)]
#
# CPU 0: the backends (catalog_server with its MariaDB, and bench/echo_server). CPU 1: the load
# generator, and the gateway (--io_threads=1) in the JSON runs; in the direct runs the load
# generator has CPU 1 alone, so the gateway's own CPU per request is reported too (the fair
# figure). Three workloads, each with the same concurrency in both runs:
#   catalog GetListing  anonymous, random ids among MP_BENCH_CATALOG_LISTINGS (10000) seeded
#                       LIVE listings, all in the catalog's public view cache (read once first);
#                       JSON: GET /v1/listings/{id} over the same ids;
#   echo work_us=0      bench/echo_server, a 16-byte message; JSON: POST /v1/echo;
#   echo work_us=50     the same with 50 µs of busy work on the server per call.
# For each: the maximum QPS (closed loop: bench/*_load directly over gRPC; `h2load --h1` through
# the gateway, one connection per concurrent request), JSON ÷ direct; then p50 and p99 at 50 %
# of the direct maximum, both paced the same way by bench/loadgen (call k at k / rate: bench/*_load
# --rate directly, bench/http_load --rate through the gateway, one keep-alive connection per
# slot) and their ratios, plus `h2load --h1 --rps` at that rate for reference (its clients all
# fire at the same instant: bursts of `concurrency` requests, so its p50 is mostly queueing); and the gateway's CPU (user + system, /proc/<pid>/stat) per request at maximum
# load. Targets (issue 19): JSON ÷ direct ≥ 0.8 for GetListing; latency ratios ≤ 1.25.
# Logs and h2load's per-request logs stay in .bench/gateway/.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10s}
CONCURRENCY=${2:-32}
LISTINGS=${MP_BENCH_CATALOG_LISTINGS:-10000}
SECONDS_=${DURATION%s}
[[ "$SECONDS_" =~ ^[0-9]+$ ]] || { echo "duration: whole seconds, e.g. 10s" >&2; exit 2; }
[[ "$CONCURRENCY" =~ ^[0-9]+$ && "$CONCURRENCY" -ge 1 ]] ||
  { echo "concurrency: a positive integer" >&2; exit 2; }
OUT=$(pwd)/.bench/gateway
rm -rf "$OUT"
mkdir -p "$OUT"

bazel build -c opt //services/gateway:gateway //services/catalog:catalog_server \
  //bench:catalog_load //bench:echo_server //bench:echo_load //bench:http_load \
  //bench:grpc_client_floor \
  //bench:gateway_bench_descriptor_set \
  >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)

source bench/lib.sh
MP_BENCH_MARIADB_CPU=0 start_bench_mariadb "$OUT" catalog --innodb-buffer-pool-size=128M

db_flags=(--db_host=127.0.0.1 --db_port="$db_port" --db_name=catalog --db_user=root
  --db_password=)
"$BIN/services/catalog/catalog_server" --migrate_only --insecure --metrics_address=127.0.0.1:0 \
  "${db_flags[@]}" >"$OUT/migrate.log" 2>&1 || { tail -5 "$OUT/migrate.log"; exit 1; }
"$BIN/bench/catalog_load" --mode=seed --listings="$LISTINGS" "${db_flags[@]}" 2>"$OUT/seed.log" ||
  { cat "$OUT/seed.log"; exit 1; }

catalog_port=$(free_port)
taskset -c 0 "$BIN/services/catalog/catalog_server" --listen_address="127.0.0.1:$catalog_port" --insecure \
  --metrics_address=127.0.0.1:0 "${db_flags[@]}" --identity_address=127.0.0.1:1 \
  --log_level=warn >"$OUT/catalog.log" 2>&1 &
catalog_pid=$!
pids+=($catalog_pid)
wait_serving "127.0.0.1:$catalog_port" "$catalog_pid" "$OUT/catalog.log"

echo_port=$(free_port)
taskset -c 0 "$BIN/bench/echo_server" --listen_address="127.0.0.1:$echo_port" \
  >"$OUT/echo.log" 2>&1 &
echo_pid=$!
pids+=($echo_pid)
wait_serving "127.0.0.1:$echo_port" "$echo_pid" "$OUT/echo.log"

http_port=$(free_port)
admin_port=$(free_port)
taskset -c 1 "$BIN/services/gateway/gateway" \
  --descriptor_set="$BIN/bench/gateway_bench_descriptor_set.pb" \
  --backends="marketplace.catalog.v1.CatalogService=127.0.0.1:$catalog_port,marketplace.bench.v1.Echo=127.0.0.1:$echo_port" \
  --http_address="127.0.0.1:$http_port" --admin_address="127.0.0.1:$admin_port" --insecure \
  --metrics_address=127.0.0.1:0 --io_threads=1 --max_connections=100000 --log_level=warn \
  >"$OUT/gateway.log" 2>&1 &
gateway_pid=$!
pids+=($gateway_pid)
wait_serving "127.0.0.1:$admin_port" "$gateway_pid" "$OUT/gateway.log"

# The listings GetListing reads (catalog_load's ids: "lst_" + 24 hex digits), once each.
python3 -c "
for i in range($LISTINGS):
    print('http://127.0.0.1:$http_port/v1/listings/lst_%024x' % (i * 2654435761 % $LISTINGS))
" >"$OUT/listing_urls.txt"
# Every listing read once, so that both runs read from the public view cache.
taskset -c 1 "$BIN/bench/catalog_load" --target="127.0.0.1:$catalog_port" --mode=GetListing \
  --listings="$LISTINGS" --concurrency="$CONCURRENCY" --warm_calls="$LISTINGS" \
  --duration=1s --warmup=0s >"$OUT/warm.txt"

# CPU seconds (user + system) of process $1, as bench/loadgen.cc ReadProcessStats reads them.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
TICKS=$(getconf CLK_TCK)

# Last row of a bench/*_load run → "qps p50_ms p99_ms errors".
row_figures() { tail -1 "$1" | awk '{print $(NF-7), $(NF-5), $(NF-4), $(NF-2)}'; }

# h2load's output and --log-file → "qps p50_ms p99_ms errors done".
h2load_figures() {
  python3 - "$1" "$2" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"finished in [0-9.]+\w*, ([0-9.]+) req/s", text)
qps = float(m.group(1)) if m else 0.0
lat, errors = [], 0
for line in open(sys.argv[2]):
    cols = line.split("\t")
    if len(cols) < 3:
        continue
    if cols[1] == "200":
        lat.append(int(cols[2]))
    else:
        errors += 1
lat.sort()
pct = lambda q: lat[int(q * (len(lat) - 1))] / 1000.0 if lat else 0.0
print("%.0f %.3f %.3f %d %d" % (qps, pct(0.5), pct(0.99), errors, len(lat)))
EOF
}

# h2load on CPU 1 through the gateway: h2load_run NAME [h2load args...]; sets h2 (figures)
# and h2_cpu (h2load's own CPU seconds, user + system: bash's `times` in the subshell that ran
# it, whose second line is its children's, e.g. "0m1.234s 0m0.567s").
h2load_run() {
  local name=$1
  shift
  (
    taskset -c 1 h2load --h1 -t 1 -c "$CONCURRENCY" --log-file="$OUT/$name.tsv" "$@" \
      >"$OUT/$name.txt" 2>&1 || exit 1
    times >"$OUT/$name.times"
  ) || { tail -20 "$OUT/$name.txt"; exit 1; }
  h2_cpu=$(tail -1 "$OUT/$name.times" |
    awk '{n = 0; for (i = 1; i <= 2; i++) {split($i, p, "m"); n += p[1] * 60 + p[2]} print n}')
  h2=$(h2load_figures "$OUT/$name.txt" "$OUT/$name.tsv")
}

# One workload: workload NAME "direct load command" "h2load target args" "http_load args".
rows=()
workload() {
  local name=$1 direct=$2 target=$3 paced=$4 key=${1// /_}
  # Direct maximum (closed loop), then at 50 % of it (fixed rate).
  $direct --concurrency="$CONCURRENCY" --duration="$DURATION" >"$OUT/$key.direct.txt"
  read -r d_qps _ _ d_err < <(row_figures "$OUT/$key.direct.txt")
  local rate
  rate=$(awk -v q="$d_qps" 'BEGIN {printf "%d", q / 2}')
  $direct --concurrency="$CONCURRENCY" --duration="$DURATION" --rate="$rate" \
    >"$OUT/$key.direct_half.txt" 2>>"$OUT/$key.direct_half.err"
  read -r _ dh_p50 dh_p99 dh_err < <(row_figures "$OUT/$key.direct_half.txt")
  # Through the gateway: a short warm-up, the maximum with the gateway's CPU, then 50 %.
  # shellcheck disable=SC2086
  h2load_run "$key.json_warm" -D 2 $target
  local cpu0 cpu1
  cpu0=$(cpu_ticks "$gateway_pid")
  # shellcheck disable=SC2086
  h2load_run "$key.json" -D "$SECONDS_" $target
  cpu1=$(cpu_ticks "$gateway_pid")
  local load_cpu=$h2_cpu
  read -r j_qps _ _ j_err j_done <<<"$h2"
  local rps
  rps=$(awk -v r="$rate" -v c="$CONCURRENCY" 'BEGIN {printf "%.3f", r / c}')
  # shellcheck disable=SC2086
  h2load_run "$key.json_half_h2load" -D "$SECONDS_" --rps="$rps" $target
  read -r _ hh_p50 _ hh_err _ <<<"$h2"
  # The latency figure: the same pacing as the direct run (bench/http_load on loadgen's
  # RunFixedRate), one keep-alive connection per slot.
  # shellcheck disable=SC2086
  taskset -c 1 "$BIN/bench/http_load" --target="127.0.0.1:$http_port" $paced \
    --concurrency="$CONCURRENCY" --duration="$DURATION" --rate="$rate" \
    >"$OUT/$key.json_half.txt" 2>>"$OUT/$key.json_half.err"
  local jh_qps
  read -r jh_qps jh_p50 jh_p99 jh_err < <(row_figures "$OUT/$key.json_half.txt")
  local cpu_us load_us ceiling
  cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$TICKS" -v n="$j_done" \
    'BEGIN {printf "%.1f", (n > 0 ? (b - a) / t * 1e6 / n : 0)}')
  load_us=$(awk -v c="$load_cpu" -v n="$j_done" 'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / n : 0)}')
  # The best JSON ÷ direct CPU 1 allows: h2load's µs per request plus the cheapest gRPC
  # client call's (the gateway's floor) fill CPU 1 at 1e6 / (sum) requests per second.
  ceiling=$(awk -v l="$load_us" -v f="$floor_us" -v dq="$d_qps" \
    'BEGIN {printf "%.2f", (l + f > 0 && dq > 0 ? 1e6 / (l + f) / dq : 0)}')
  rows+=("$(awk -v n="$name" -v dq="$d_qps" -v jq="$j_qps" -v dp50="$dh_p50" -v dp99="$dh_p99" \
    -v jp50="$jh_p50" -v jp99="$jh_p99" -v cpu="$cpu_us" \
    -v e="$((d_err + dh_err + j_err + jh_err + hh_err))" -v hq="$jh_qps" -v r="$rate" \
    -v hp50="$hh_p50" -v lu="$load_us" -v ce="$ceiling" \
    'BEGIN {printf "%-20s %9.0f %9.0f %6.2f %7d %7.0f %7.3f %7.3f %7.3f %7.3f %6.2f %6.2f %8s %8s %7s %8.3f %6d\n",
      n, dq, jq, jq / dq, r, hq, dp50, jp50, dp99, jp99, jp50 / dp50, jp99 / dp99, cpu, lu, ce, hp50, e}')")
}

catalog_direct="taskset -c 1 $BIN/bench/catalog_load --target=127.0.0.1:$catalog_port
  --mode=GetListing --listings=$LISTINGS --server_pid=$catalog_pid"
echo_direct="taskset -c 1 $BIN/bench/echo_load --target=127.0.0.1:$echo_port --server_pid=$echo_pid"
printf '{"message":"xxxxxxxxxxxxxxxx"}' >"$OUT/echo0.json"
printf '{"message":"xxxxxxxxxxxxxxxx","workUs":50}' >"$OUT/echo50.json"
echo_url="http://127.0.0.1:$http_port/v1/echo"

# The floor under the gateway's CPU per request (bench/grpc_client_floor, on CPU 1, echo calls
# with nothing else done): one thread draining a CompletionQueue; the callback API; the callback
# API with the platform's gRPC server in the same process, as in the gateway (its admin port).
# floor_us: the lowest, used for the ceiling column.
floor_rows=()
for variant in "cq false" "callback false" "callback true"; do
  read -r api server <<<"$variant"
  taskset -c 1 "$BIN/bench/grpc_client_floor" --target="127.0.0.1:$echo_port" \
    --concurrency="$CONCURRENCY" --duration="$DURATION" --api="$api" --with_server="$server" \
    >"$OUT/floor_${api}_$server.txt" 2>&1 || { cat "$OUT/floor_${api}_$server.txt"; exit 1; }
  floor_rows+=("$(tail -1 "$OUT/floor_${api}_$server.txt")")
done
floor_us=$(for r in "${floor_rows[@]}"; do awk '{for (i = 1; i < NF; i++) if ($i == "us/call") print $(i + 1)}' <<<"$r"; done | sort -g | head -1)

workload "catalog GetListing" "$catalog_direct" "-i $OUT/listing_urls.txt" \
  "--urls_file=$OUT/listing_urls.txt"
workload "echo work_us=0" "$echo_direct --work_us=0" \
  "-d $OUT/echo0.json -H content-type:application/json $echo_url" \
  "--path=/v1/echo --body_file=$OUT/echo0.json"
workload "echo work_us=50" "$echo_direct --work_us=50" \
  "-d $OUT/echo50.json -H content-type:application/json $echo_url" \
  "--path=/v1/echo --body_file=$OUT/echo50.json"

echo
echo "gateway vs direct gRPC: $DURATION per run, concurrency $CONCURRENCY" \
  "(backends on CPU 0, load generator and gateway on CPU 1)"
printf '%-20s %9s %9s %6s %7s %7s %7s %7s %7s %7s %6s %6s %8s %8s %7s %8s %6s\n' workload \
  qps_grpc qps_json ratio rate50 qps50 p50_grpc p50_json p99_grpc p99_json p50_x p99_x \
  gw_us/req h2_us/req ceiling p50_h2rps errors
for r in "${rows[@]}"; do echo "$r"; done
echo "(qps: closed loop at the concurrency; rate50: 50 % of qps_grpc, the fixed rate of the" \
  "latency runs (qps50: what bench/http_load achieved through the gateway); p50/p99 in ms at" \
  "rate50, both sides paced by bench/loadgen (call k at k / rate50); _x: json ÷ grpc;" \
  "gw_us/req: the gateway's CPU µs per request at maximum load; h2_us/req: h2load's own;" \
  "ceiling: the highest ratio CPU 1 allows, 1e6 / (h2_us/req + the gRPC client floor below)" \
  "÷ qps_grpc; p50_h2rps: p50 of" \
  "'h2load --rps' at the same rate, whose clients all fire in the same instant (bursts of" \
  "the concurrency); errors: all five runs)"
for r in "${floor_rows[@]}"; do echo "$r"; done
echo "(gRPC clients doing nothing but echo calls, on CPU 1: client CPU µs per call; the lowest" \
  "is the least a gateway request can cost on top of h2load's)"
