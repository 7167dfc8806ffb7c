#!/usr/bin/env bash
# The local stack: a private MariaDB under .data/ (never the system service), one database and
# one least-privilege user per service, and every service that exists, on loopback ports.
#
#   scripts/stack.sh [start]   set up, build, start everything; stays in the foreground,
#                              Ctrl-C stops it all
#   scripts/stack.sh up        the same, but returns once everything is serving
#   scripts/stack.sh stop      stops a stack started by `up` (or from another terminal)
#   scripts/stack.sh status    what runs where
#
# Data survives restarts (.data/mariadb). Ports come from the environment; see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${MP_DATA_DIR:-$ROOT/.data}
DB_PORT=${MP_DB_PORT:-3307}
BIND=${MP_BIND_ADDRESS:-127.0.0.1}
# Every gRPC link is mutual TLS with a throwaway CA made here (README "Transport security");
# MP_TLS=0 runs the stack in plaintext (--insecure) instead.
TLS_DIR="$DATA/tls"
TLS=${MP_TLS:-1}

# service  default gRPC port  default metrics port
SERVICES=(
  "identity 7001 9101"
  "catalog 7002 9102"
  "payments 7003 9103"
  "support 7004 9104"
  "sellerkpi 7005 9105"
)

log() { echo "stack: $*"; }

existing_services() {
  for entry in "${SERVICES[@]}"; do
    set -- $entry
    [ -f "services/$1/BUILD" ] && grep -q "name = \"$1_server\"" "services/$1/BUILD" && echo "$entry"
  done
  return 0
}

port_of() {  # port_of SERVICE KIND(GRPC|METRICS) DEFAULT
  local var="MP_$(echo "$1" | tr a-z A-Z)_$2_PORT"
  echo "${!var:-$3}"
}

tls_flags() {  # the transport security flags of every service and the gateway
  if [ "$TLS" = 0 ]; then echo "--insecure"; return; fi
  echo "--tls_cert_file=$TLS_DIR/cert.pem --tls_key_file=$TLS_DIR/key.pem --tls_ca_file=$TLS_DIR/ca.pem"
}

setup_tls() {
  [ "$TLS" = 0 ] && { log "plaintext gRPC (MP_TLS=0)"; return; }
  bash scripts/make_tls.sh "$TLS_DIR" "$BIND" "$(hostname)"
  log "mutual TLS: CA $TLS_DIR/ca.pem, certificate $TLS_DIR/cert.pem (also for clients)"
}

mysql_root() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$DB_PORT" --protocol=tcp "$@"; }

db_running() { mysql_root -e "SELECT 1" >/dev/null 2>&1; }

start_db() {
  mkdir -p "$DATA/run" "$DATA/logs" "$DATA/secrets"
  chmod 700 "$DATA/secrets"
  if db_running; then log "MariaDB already running on 127.0.0.1:$DB_PORT"; return; fi
  if [ ! -d "$DATA/mariadb/mysql" ]; then
    log "initialising MariaDB data directory $DATA/mariadb"
    mariadb-install-db --no-defaults --datadir="$DATA/mariadb" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$DATA/logs/mariadb-install.log" 2>&1
  fi
  log "starting MariaDB on 127.0.0.1:$DB_PORT"
  setsid mariadbd --no-defaults --datadir="$DATA/mariadb" --socket="$DATA/run/mariadb.sock" \
    --port="$DB_PORT" --bind-address=127.0.0.1 --user="$(id -un)" --skip-name-resolve \
    --pid-file="$DATA/run/mariadb.pid" --log-error="$DATA/logs/mariadb.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci >/dev/null 2>&1 &
  for _ in $(seq 1 60); do
    db_running && return
    sleep 0.5
  done
  log "MariaDB did not start; see $DATA/logs/mariadb.log"; exit 1
}

# One database and one user per service, with rights on that database only.
provision_db() {
  local svc=$1 pw_file="$DATA/secrets/${1}_db_password"
  [ -s "$pw_file" ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$pw_file")
  local pw; pw=$(cat "$pw_file")
  mysql_root <<SQL
CREATE DATABASE IF NOT EXISTS \`$svc\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$svc'@'127.0.0.1' IDENTIFIED BY '$pw';
ALTER USER '$svc'@'127.0.0.1' IDENTIFIED BY '$pw';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, REFERENCES
  ON \`$svc\`.* TO '$svc'@'127.0.0.1';
SQL
  # A service whose user has narrower rights (e.g. an append-only ledger) ships
  # provision_db.sh: its tables are created first by the owner (root here), then the script
  # sets the user's grants table by table.
  if [ -f "services/$svc/provision_db.sh" ]; then
    "bazel-bin/services/$svc/${svc}_server" --migrate_only --metrics_address=127.0.0.1:0 \
      --db_host=127.0.0.1 --db_port="$DB_PORT" --db_name="$svc" --db_user=root \
      --db_password= $(tls_flags) $(extra_flags "$svc") >>"$DATA/logs/$svc.log" 2>&1
    MP_MYSQL="mariadb --no-defaults -uroot -h127.0.0.1 -P$DB_PORT --protocol=tcp" \
      bash "services/$svc/provision_db.sh" "$svc" "$DATA"
  fi
}

extra_flags() {  # service-specific flags, from services/<svc>/stack_flags.sh when present
  local svc=$1
  if [ -f "services/$svc/stack_flags.sh" ]; then
    MP_DATA_DIR="$DATA" bash "services/$svc/stack_flags.sh"
  fi
}

health_ok() {  # health_ok PORT [plain]: grpc.health.v1 Check("") answers SERVING
  local tls=()
  [ "$TLS" != 0 ] && [ "${2:-}" != plain ] && tls=(--tls "$TLS_DIR")
  /usr/bin/python3 "$ROOT/scripts/grpc_health.py" "${tls[@]}" "$BIND:$1" >/dev/null 2>&1
}

start_one() {  # start_one SERVICE GRPC_PORT METRICS_PORT
  local svc=$1 grpc_port=$2 metrics_port=$3 pid_file="$DATA/run/$1.pid"
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    log "$svc already running (pid $(cat "$pid_file"))"; return
  fi
  provision_db "$svc"
  # shellcheck disable=SC2046
  setsid "bazel-bin/services/$svc/${svc}_server" \
    --listen_address="$BIND:$grpc_port" --metrics_address="$BIND:$metrics_port" \
    --db_host=127.0.0.1 --db_port="$DB_PORT" --db_name="$svc" --db_user="$svc" \
    --db_password_file="$DATA/secrets/${svc}_db_password" \
    $(tls_flags) $(extra_flags "$svc") >>"$DATA/logs/$svc.log" 2>&1 &
  echo $! >"$pid_file"
}

wait_serving() {  # wait_serving SERVICE GRPC_PORT (the gateway: its plaintext admin port)
  local svc=$1 grpc_port=$2 plain=""
  [ "$svc" = gateway ] && plain=plain
  for _ in $(seq 1 60); do
    health_ok "$grpc_port" $plain && return
    if ! kill -0 "$(cat "$DATA/run/$svc.pid")" 2>/dev/null; then
      log "$svc exited; last lines of $DATA/logs/$svc.log:"; tail -5 "$DATA/logs/$svc.log"; exit 1
    fi
    sleep 0.5
  done
  health_ok "$grpc_port" $plain || { log "$svc is not SERVING; see $DATA/logs/$svc.log"; exit 1; }
}

# A service that calls others with its own token ships services/<svc>/identity_scopes (the
# scopes it needs, space-separated). Once identity serves, the stack creates its SERVICE
# account with the bootstrap admin and keeps the credentials in .data/secrets/<svc>_client_id
# and <svc>_client_secret, which the service's stack_flags.sh passes on.
provision_service_account() {  # provision_service_account SERVICE
  local svc=$1 scopes_file="services/$1/identity_scopes"
  [ -f "$scopes_file" ] || return 0
  [ -s "$DATA/secrets/${svc}_client_secret" ] && [ -s "$DATA/secrets/${svc}_client_id" ] && return 0
  local identity_port; identity_port=$(port_of identity GRPC 7001)
  log "creating the SERVICE account of $svc at identity"
  local tls_env=(MP_INSECURE=1)
  [ "$TLS" != 0 ] && tls_env=(MP_TLS_CERT_FILE="$TLS_DIR/cert.pem" MP_TLS_KEY_FILE="$TLS_DIR/key.pem"
                             MP_TLS_CA_FILE="$TLS_DIR/ca.pem")
  env "${tls_env[@]}" \
  MP_IDENTITY_TARGET="$BIND:$identity_port" MP_DATA_DIR="$DATA" CLI=bazel-bin/tools/identity_cli \
    /usr/bin/python3 scripts/provision_service_account.py "$svc" $(cat "$scopes_file") \
    || { log "could not create the SERVICE account of $svc"; exit 1; }
}

start_services() {
  local targets=() entries=()
  while read -r entry; do entries+=("$entry"); done < <(existing_services)
  if [ ${#entries[@]} -eq 0 ]; then log "no services yet"; return; fi
  for entry in "${entries[@]}"; do set -- $entry; targets+=("//services/$1:${1}_server"); done
  if [ -f services/identity/BUILD ]; then targets+=("//tools:identity_cli"); fi
  log "building ${targets[*]}"
  bazel build "${targets[@]}" >"$DATA/logs/build.log" 2>&1 || { tail -30 "$DATA/logs/build.log"; exit 1; }
  # identity first: the others verify its tokens and call it with their own.
  for entry in "${entries[@]}"; do
    set -- $entry
    [ "$1" = identity ] || continue
    start_one identity "$(port_of identity GRPC "$2")" "$(port_of identity METRICS "$3")"
    wait_serving identity "$(port_of identity GRPC "$2")"
  done
  for entry in "${entries[@]}"; do
    set -- $entry
    [ "$1" = identity ] && continue
    provision_service_account "$1"
    start_one "$1" "$(port_of "$1" GRPC "$2")" "$(port_of "$1" METRICS "$3")"
  done
  for entry in "${entries[@]}"; do
    set -- $entry
    wait_serving "$1" "$(port_of "$1" GRPC "$2")"
  done
}

# The gateway (services/gateway/README.md): HTTP/JSON on MP_GATEWAY_HTTP_PORT (8080) for
# every running service whose API is in //protos:api_descriptor_set; gRPC health on
# MP_GATEWAY_ADMIN_PORT (7010), metrics on MP_GATEWAY_METRICS_PORT (9110).
GATEWAY_APIS=(
  "identity marketplace.identity.v1.Identity"
  "catalog marketplace.catalog.v1.CatalogService"
  "payments marketplace.payments.v1.Payments"
  "support marketplace.support.v1.SupportService"
  "sellerkpi marketplace.sellerkpi.v1.SellerKpiService"
)

start_gateway() {
  [ -f services/gateway/BUILD ] || return 0
  local pid_file="$DATA/run/gateway.pid" backends="" entry
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    log "gateway already running (pid $(cat "$pid_file"))"; return
  fi
  local running; running=$(existing_services)
  for entry in "${GATEWAY_APIS[@]}"; do
    set -- $entry
    local default; default=$(awk -v s="$1" '$1 == s {print $2}' <<<"$running")
    [ -n "$default" ] || continue
    backends="${backends:+$backends,}$2=$BIND:$(port_of "$1" GRPC "$default")"
  done
  [ -n "$backends" ] || return 0
  log "building the gateway"
  bazel build //services/gateway //protos:api_descriptor_set >>"$DATA/logs/build.log" 2>&1 \
    || { tail -30 "$DATA/logs/build.log"; exit 1; }
  setsid bazel-bin/services/gateway/gateway \
    --http_address="$BIND:$(port_of gateway HTTP 8080)" \
    --admin_address="$BIND:$(port_of gateway ADMIN 7010)" \
    --metrics_address="$BIND:$(port_of gateway METRICS 9110)" \
    --descriptor_set="$ROOT/bazel-bin/protos/api_descriptor_set.pb" \
    --backends="$backends" $(tls_flags) >>"$DATA/logs/gateway.log" 2>&1 &
  echo $! >"$pid_file"
  wait_serving gateway "$(port_of gateway ADMIN 7010)"
}

status() {
  printf '%-10s %-22s %-22s %s\n' service grpc metrics state
  printf '%-10s %-22s %-22s %s\n' mariadb "127.0.0.1:$DB_PORT" "-" "$(db_running && echo up || echo down)"
  while read -r svc grpc_default metrics_default; do
    local g m state=down
    g=$(port_of "$svc" GRPC "$grpc_default"); m=$(port_of "$svc" METRICS "$metrics_default")
    health_ok "$g" && state=SERVING
    printf '%-10s %-22s %-22s %s\n' "$svc" "$BIND:$g" "$BIND:$m/metrics" "$state"
  done < <(existing_services)
  if [ -f "$DATA/run/gateway.pid" ]; then
    local state=down
    health_ok "$(port_of gateway ADMIN 7010)" plain && state=SERVING
    printf '%-10s %-22s %-22s %s\n' gateway "http://$BIND:$(port_of gateway HTTP 8080)" \
      "$BIND:$(port_of gateway METRICS 9110)/metrics" "$state"
  fi
  log "logs in $DATA/logs"
}

stop() {
  for pid_file in "$DATA"/run/*.pid; do
    [ -f "$pid_file" ] || continue
    [ "$(basename "$pid_file")" = mariadb.pid ] && continue
    local pid; pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $(basename "$pid_file" .pid) (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$pid_file"
  done
  if [ -f "$DATA/run/mariadb.pid" ]; then
    local pid; pid=$(cat "$DATA/run/mariadb.pid")
    log "stopping MariaDB (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  log "stopped"
}

up() {
  bash scripts/setup.sh
  start_db
  setup_tls
  start_services
  start_gateway
  status
}

case "${1:-start}" in
  start)
    trap 'echo; stop; exit 0' INT TERM
    up
    log "running; Ctrl-C stops everything"
    while true; do sleep 3600 & wait $!; done
    ;;
  up) up ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 [start|up|stop|status]" >&2; exit 2 ;;
esac
