#!/usr/bin/env bash
# Prints the support-specific flags of the local stack (scripts/stack.sh passes them to
# support_server). support calls payments (the order's payment) with its own service account
# (scopes in services/support/identity_scopes): when $MP_DATA_DIR/secrets/support_client_id
# and support_client_secret exist, they are passed; without them CreateTicket answers
# UNAVAILABLE.
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
secrets="$MP_DATA_DIR/secrets"
bind=${MP_BIND_ADDRESS:-127.0.0.1}
flags=("--identity_address=$bind:${MP_IDENTITY_GRPC_PORT:-7001}"
       "--payments_address=$bind:${MP_PAYMENTS_GRPC_PORT:-7003}"
       "--event_subscribers=sellerkpi=$bind:${MP_SELLERKPI_GRPC_PORT:-7005}:support.")
if [ -s "$secrets/support_client_id" ] && [ -s "$secrets/support_client_secret" ]; then
  flags+=("--service_client_id=$(cat "$secrets/support_client_id")"
          "--service_client_secret_file=$secrets/support_client_secret")
fi
echo "${flags[@]}"
