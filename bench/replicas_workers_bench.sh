#!/usr/bin/env bash
# Background workers with two processes against one: items per second of sellerkpi's
# evaluation pass, of support's SLA scanner and of support's refund worker, each first with one
# process, then with two,
# in the same run on the same MariaDB (a private one, bench/lib.sh). Not a test: it measures.
#
#   bash bench/replicas_workers_bench.sh
#
# Placement (2 cores): MariaDB on CPU 1 (MP_BENCH_MARIADB_CPU), the service processes on CPU 0
# (MP_BENCH_SERVER_CPUS, a taskset list, e.g. 0-1 to let them float): one process or two
# share the same CPU budget, so the ratio shows what claiming costs or saves, not extra cores.
# The tools that load data and the fakes support_server calls run on CPU 1.
#
# sellerkpi: MP_BENCH_REPLICAS_SELLERS (50000) sellers written by SQL (seller_health with
# today's last_as_of, so the daily pass does not take them, and counters on 3 days of the last
# 60 as bench/sellerkpi_bench.cc loads them, but all GOOD without the TOP badge: 60 orders, all
# shipped on time with valid tracking, 9 ratings of 4.67 stars on average; so no evaluation
# creates an enforcement action, and both rounds do the same work). A round: the processes start with
# --evaluation_interval=200ms and the default --evaluation_batch (500) and serve; then every
# seller is marked for evaluation in one UPDATE, and the round waits until no mark is left.
# Rate: evaluations stored in the round ÷ the span of their evaluated_at (database clock, first
# transaction to last). Share: each process's sellerkpi_evaluated_sellers_total (/metrics)
# over the round.
#
# support: bench/support_load (bench/support_bench.sh's tools): a few tickets created through
# the API as templates, then per round MP_BENCH_REPLICAS_TICKETS (20000) OPEN tickets copied in
# SQL of which MP_BENCH_REPLICAS_DUE_CLOCKS (20000: all) have their level-1 FIRST_REPLY clock due
# (half a breach with its escalation, half a warning). The processes run with
# --sla_scan_interval=1s (default batch 200) before the copy is made, so they all meet the
# clocks at once. Rate: support_load --mode=scan's clocks per second (history lines, first to
# last). Share: each process's support_sla_warnings_total + support_sla_clocks_total{result=
# "BREACHED"}. Between the rounds the copies are deleted (every table with a ticket_id, and
# their outbox events), so both rounds scan the same data.
#
# support's refund worker: per round MP_BENCH_REPLICAS_REFUNDS (20000) SOLVED tickets copied in
# SQL, each with a refund command due (support_load --mode=seed_refunds), written in one
# statement once the processes run with --refund_interval=1s (default batch 20; a full batch
# goes on at once), so they all meet the commands together; the fakes' RefundPayment answers at
# once, so the figure is support's claim and record. Rate: support_load --mode=refunds'
# commands per second (REFUND_RESULT history lines, first to last). Share: each process's
# support_refunds_sent_total{result="REFUNDED"}. The copies are deleted between rounds too.
#
# MP_BENCH_REPLICAS_WORKERS (default "kpi sla refund"): which workers to measure.
# MP_BENCH_REPLICAS_ORDER (default "1 2 2 1"): the rounds' process counts, in order, for each worker
# (e.g. "2 1" to see whether the order matters, "1 2 2 1" to repeat with a drift of the
# machine's load weighing on both counts); the summary takes the mean rate of each count's
# rounds, and the last two-process round's shares.
#
# Prints one line per round and a summary: rate with one, with two, ratio two ÷ one, shares.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_output replicas_workers
SELLERS=${MP_BENCH_REPLICAS_SELLERS:-50000}
TICKETS=${MP_BENCH_REPLICAS_TICKETS:-20000}
DUE_CLOCKS=${MP_BENCH_REPLICAS_DUE_CLOCKS:-20000}
REFUNDS=${MP_BENCH_REPLICAS_REFUNDS:-20000}
CPUS=${MP_BENCH_SERVER_CPUS:-0}
ORDER=${MP_BENCH_REPLICAS_ORDER:-1 2 2 1}
WORKERS=" ${MP_BENCH_REPLICAS_WORKERS:-kpi sla refund} "
measured() { [[ $WORKERS == *" $1 "* ]]; }

bazel build --jobs=2 -c opt //services/sellerkpi:sellerkpi_server //services/support:support_server \
  //bench:support_load >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
LOAD=$BIN/bench/support_load

start_bench_mariadb "$OUT" sellerkpi --innodb-buffer-pool-size=256M
db_pid=${pids[-1]}
bench_mysql -e "CREATE DATABASE support CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
db_common=(--db_host=127.0.0.1 --db_port="$db_port" --db_user=root --db_password=)

# The fakes: identity's signing keys and service token, payments' ListPayments.
fakes_port=$(free_port)
taskset -c 1 "$LOAD" --mode=fakes --listen_address="127.0.0.1:$fakes_port" \
  --key_file="$OUT/signing_key.pem" >"$OUT/fakes.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q listening "$OUT/fakes.log" && break; sleep 0.1; done

# counter_sum PORT NAME [LABEL...]: the sum of NAME's samples whose labels hold every LABEL.
counter_sum() {
  python3 - "$@" <<'PY'
import sys, urllib.request
port, name, labels = sys.argv[1], sys.argv[2], sys.argv[3:]
text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5).read().decode()
total = 0.0
for line in text.splitlines():
    if not line.startswith(name):
        continue
    rest = line[len(name):]
    if not rest or rest[0] not in "{ ":
        continue
    labelset, _, value = rest.rpartition(" ")
    if all(l in labelset for l in labels):
        total += float(value)
print("%.0f" % total)
PY
}

# start_servers N BINARY LOG FLAGS...: N processes on CPUS; sets ports, mports, spids.
start_servers() {
  local n=$1 binary=$2 log=$3
  shift 3
  ports=() mports=() spids=()
  for i in $(seq 1 "$n"); do
    local port mport
    port=$(free_port)
    mport=$(free_port)
    taskset -c "$CPUS" "$binary" --listen_address="127.0.0.1:$port" \
      --metrics_address="127.0.0.1:$mport" "$@" >>"$OUT/$log" 2>&1 &
    pids+=($!)
    ports+=("$port") mports+=("$mport") spids+=($!)
  done
  for i in "${!ports[@]}"; do wait_serving "127.0.0.1:${ports[$i]}" "${spids[$i]}" "$OUT/$log"; done
}
stop_servers() {
  for p in "${spids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${spids[@]}"; do wait "$p" 2>/dev/null || true; done
}
# shares COUNTS...: "a/b" percentages of the total.
shares() {
  python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; t=sum(v) or 1; print(" / ".join("%.0f%%" % (100*x/t) for x in v))' "$@"
}

# ---------------------------------------------------------------------------------------------
# sellerkpi
kpi_flags=("${db_common[@]}" --db_name=sellerkpi --identity_address="127.0.0.1:$fakes_port"
  --token_issuer=identity --thresholds_file=services/sellerkpi/data/thresholds.textproto
  --catalog_address=127.0.0.1:1 --payments_address=127.0.0.1:1 --enforcement_interval=1h
  --log_level=warn --insecure)
KPI=$BIN/services/sellerkpi/sellerkpi_server
"$KPI" --migrate_only --metrics_address=127.0.0.1:0 "${kpi_flags[@]}" >"$OUT/kpi_migrate.log" 2>&1 ||
  { tail -5 "$OUT/kpi_migrate.log"; exit 1; }
kpi_sql() { bench_mysql sellerkpi "$@"; }
kpi_sql -e "
  INSERT INTO seller_health (seller_id, dirty, dirty_since, last_as_of)
    SELECT CONCAT('e7a1', LPAD(LOWER(HEX(seq)), 28, '0')), FALSE, NULL, UTC_TIMESTAMP(6)
    FROM seq_0_to_$((SELLERS - 1));
  INSERT INTO seller_day_counters (seller_id, day, counter, n)
    SELECT CONCAT('e7a1', LPAD(LOWER(HEX(s.seq)), 28, '0')), UTC_DATE() - INTERVAL d.seq DAY,
           c.counter, c.n
    FROM seq_0_to_$((SELLERS - 1)) s
    JOIN (SELECT seq FROM seq_0_to_59_step_20) d
    JOIN (SELECT 'orders' AS counter, 20 AS n UNION ALL SELECT 'shipments', 20
          UNION ALL SELECT 'valid_tracking', 20 UNION ALL SELECT 'ratings', 3
          UNION ALL SELECT 'rating_stars', 14) c;"
echo "sellerkpi: $SELLERS sellers loaded"

declare -A rates share  # rates: each round's, space-separated; share: the last round's
kpi_round() {
  local n=$1
  start_servers "$n" "$KPI" sellerkpi.log "${kpi_flags[@]}" --evaluation_interval=200ms
  local before=() deltas=() after t0 count span
  for m in "${mports[@]}"; do before+=("$(counter_sum "$m" sellerkpi_evaluated_sellers_total)"); done
  t0=$(kpi_sql -N -e "SELECT UTC_TIMESTAMP(6)")
  kpi_sql -e "UPDATE seller_health SET dirty = TRUE, dirty_since = UTC_TIMESTAMP(6)"
  for _ in $(seq 1 1200); do
    [ "$(kpi_sql -N -e "SELECT COUNT(*) FROM seller_health WHERE dirty")" = 0 ] && break
    sleep 0.25
  done
  for i in "${!mports[@]}"; do
    after=$(counter_sum "${mports[$i]}" sellerkpi_evaluated_sellers_total)
    deltas+=("$((after - before[i]))")
  done
  stop_servers
  read -r count span < <(kpi_sql -N -e "SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND,
      MIN(evaluated_at), MAX(evaluated_at)) / 1e6 FROM seller_evaluations WHERE evaluated_at >= '$t0'")
  local r
  r=$(python3 -c "print('%.0f' % ($count / max($span, 1e-6)))")
  rates[kpi$n]+=" $r"
  share[kpi$n]=$(shares "${deltas[@]}")
  echo "sellerkpi evaluations, $n process(es): $count in ${span}s = $r/s;" \
    "per process ${deltas[*]} (${share[kpi$n]})"
}
measured kpi && for n in $ORDER; do kpi_round "$n"; done

# ---------------------------------------------------------------------------------------------
# support's SLA scanner
support_flags=("${db_common[@]}" --db_name=support --identity_address="127.0.0.1:$fakes_port"
  --token_issuer=identity --service_client_id=support --service_client_secret=support-secret
  --payments_address="127.0.0.1:$fakes_port" --event_subscribers= --log_level=warn
  --close_interval=1h --insecure)
SUPPORT=$BIN/services/support/support_server
"$SUPPORT" --migrate_only --metrics_address=127.0.0.1:0 "${support_flags[@]}" \
  >"$OUT/support_migrate.log" 2>&1 || { tail -5 "$OUT/support_migrate.log"; exit 1; }
support_db=("${db_common[@]}" --db_name=support)
# Template tickets, through the API (the scanner does not run meanwhile: nothing is due).
start_servers 1 "$SUPPORT" support.log "${support_flags[@]}" --refund_interval=1h
taskset -c 1 "$LOAD" --mode=CreateTicket --target="127.0.0.1:${ports[0]}" \
  --server_pid="${spids[0]}" "${support_db[@]}" --key_file="$OUT/signing_key.pem" \
  --duration=1s --warmup=0s --concurrency=2 >"$OUT/templates.txt" 2>&1 ||
  { tail -5 "$OUT/templates.txt"; exit 1; }
stop_servers

# delete_copies: the previous round's copies go (every table with a ticket_id, and their events).
delete_copies() {
  for table in $(bench_mysql -N -e "SELECT table_name FROM information_schema.columns WHERE
      table_schema = 'support' AND column_name = 'ticket_id'"); do
    bench_mysql support -e "DELETE FROM $table WHERE ticket_id LIKE 'tkt\\_b0%'"
  done
  bench_mysql support -e "DELETE FROM outbox_events WHERE event_key LIKE 'tkt\\_b0%'"
}

support_round() {
  local n=$1
  delete_copies
  start_servers "$n" "$SUPPORT" support.log "${support_flags[@]}" --sla_scan_interval=1s \
    --refund_interval=1h
  local before=() deltas=()
  for m in "${mports[@]}"; do
    before+=("$(($(counter_sum "$m" support_sla_warnings_total) + $(counter_sum "$m" \
      support_sla_clocks_total 'result="BREACHED"')))")
  done
  taskset -c 1 "$LOAD" --mode=seed "${support_db[@]}" --seed_tickets="$TICKETS" \
    --due_clocks="$DUE_CLOCKS" >"$OUT/seed$n.txt"
  taskset -c 1 "$LOAD" --mode=scan "${support_db[@]}" --server_pid="${spids[0]}" \
    --db_server_pid="$db_pid" >"$OUT/scan$n.txt" || { cat "$OUT/scan$n.txt"; exit 1; }
  for i in "${!mports[@]}"; do
    local after
    after=$(($(counter_sum "${mports[$i]}" support_sla_warnings_total) + $(counter_sum \
      "${mports[$i]}" support_sla_clocks_total 'result="BREACHED"')))
    deltas+=("$((after - before[i]))")
  done
  stop_servers
  rates[sla$n]+=" "$(sed -n 's/.* \([0-9.]*\) clocks\/s.*/\1/p' "$OUT/scan$n.txt" | head -1)
  share[sla$n]=$(shares "${deltas[@]}")
  echo "support SLA clocks, $n process(es): $(head -1 "$OUT/scan$n.txt" | sed 's/; per clock.*//');" \
    "per process ${deltas[*]} (${share[sla$n]})"
}
measured sla && for n in $ORDER; do support_round "$n"; done

# ---------------------------------------------------------------------------------------------
# support's refund worker
refund_round() {
  local n=$1
  delete_copies
  start_servers "$n" "$SUPPORT" support.log "${support_flags[@]}" --sla_scan_interval=1h \
    --refund_interval=1s
  local before=() deltas=()
  for m in "${mports[@]}"; do
    before+=("$(counter_sum "$m" support_refunds_sent_total 'result="REFUNDED"')")
  done
  taskset -c 1 "$LOAD" --mode=seed_refunds "${support_db[@]}" --seed_tickets="$REFUNDS" \
    >"$OUT/seed_refunds$n.txt"
  taskset -c 1 "$LOAD" --mode=refunds "${support_db[@]}" --server_pid="${spids[0]}" \
    --db_server_pid="$db_pid" >"$OUT/refunds$n.txt" || { cat "$OUT/refunds$n.txt"; exit 1; }
  for i in "${!mports[@]}"; do
    local after
    after=$(counter_sum "${mports[$i]}" support_refunds_sent_total 'result="REFUNDED"')
    deltas+=("$((after - before[i]))")
  done
  stop_servers
  rates[refund$n]+=" "$(sed -n 's/.* \([0-9.]*\) commands\/s.*/\1/p' "$OUT/refunds$n.txt" | head -1)
  share[refund$n]=$(shares "${deltas[@]}")
  echo "support refund commands, $n process(es): $(head -1 "$OUT/refunds$n.txt" | \
    sed 's/; per command.*//');" "per process ${deltas[*]} (${share[refund$n]})"
}
measured refund && for n in $ORDER; do refund_round "$n"; done

# mean RATES...: their mean, to the unit.
mean() { python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; print("%.0f" % (sum(v)/len(v)))' "$@"; }
echo
printf '%-28s %12s %12s %8s  %s\n' worker "1 process/s" "2 processes/s" "2 ÷ 1" "shares of the 2"
declare -A names=([kpi]="sellerkpi evaluations" [sla]="support SLA scanner clocks"
  [refund]="support refund commands")
for w in kpi sla refund; do
  measured $w || continue
  name=${names[$w]}
  one=$(mean ${rates[${w}1]}) two=$(mean ${rates[${w}2]})
  printf '%-28s %12s %12s %8s  %s\n' "$name" "$one" "$two" \
    "$(python3 -c "print('%.2f' % ($two / max($one, 1e-9)))")" "${share[${w}2]}"
done
