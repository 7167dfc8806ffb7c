#!/usr/bin/env bash
# Prints the payments-specific flags of the local stack (scripts/stack.sh passes them to
# payments_server). payments calls identity (seller status, payout account) with its own
# service account (scopes in services/payments/identity_scopes): when
# $MP_DATA_DIR/secrets/payments_client_id and payments_client_secret exist, they are passed;
# without them seller checks answer UNAVAILABLE.
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
secrets="$MP_DATA_DIR/secrets"
bind=${MP_BIND_ADDRESS:-127.0.0.1}
flags=("--identity_address=$bind:${MP_IDENTITY_GRPC_PORT:-7001}"
       "--event_subscribers=sellerkpi=$bind:${MP_SELLERKPI_GRPC_PORT:-7005}:payments.,catalog=$bind:${MP_CATALOG_GRPC_PORT:-7002}:payments.payment_held,support=$bind:${MP_SUPPORT_GRPC_PORT:-7004}:payments.payment_held")
if [ -s "$secrets/payments_client_id" ] && [ -s "$secrets/payments_client_secret" ]; then
  flags+=("--service_client_id=$(cat "$secrets/payments_client_id")"
          "--service_client_secret_file=$secrets/payments_client_secret")
fi
echo "${flags[@]}"
