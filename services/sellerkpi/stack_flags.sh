#!/usr/bin/env bash
# Prints the sellerkpi-specific flags of the local stack (scripts/stack.sh passes them to
# sellerkpi_server). The seed thresholds are read from the repository (the stack runs from its
# root). sellerkpi verifies tokens with identity's published keys, and its enforcement steps
# call identity, catalog and payments with its own SERVICE account (scopes in
# services/sellerkpi/identity_scopes): when $MP_DATA_DIR/secrets/sellerkpi_client_id and
# sellerkpi_client_secret exist they are passed; without them the steps stay due and are
# retried. payments' relay delivers its events to sellerkpi (services/payments/stack_flags.sh
# lists sellerkpi as the subscriber of "payments.").
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
secrets="$MP_DATA_DIR/secrets"
bind=${MP_BIND_ADDRESS:-127.0.0.1}
flags=("--thresholds_file=services/sellerkpi/data/thresholds.textproto"
       "--identity_address=$bind:${MP_IDENTITY_GRPC_PORT:-7001}"
       "--catalog_address=$bind:${MP_CATALOG_GRPC_PORT:-7002}"
       "--payments_address=$bind:${MP_PAYMENTS_GRPC_PORT:-7003}")
if [ -s "$secrets/sellerkpi_client_id" ] && [ -s "$secrets/sellerkpi_client_secret" ]; then
  flags+=("--service_client_id=$(cat "$secrets/sellerkpi_client_id")"
          "--service_client_secret_file=$secrets/sellerkpi_client_secret")
fi
echo "${flags[@]}"
