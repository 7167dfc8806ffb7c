#!/usr/bin/env bash
# Prints the payments-specific flags of the local stack (scripts/stack.sh passes them to
# payments_server). The service's client secret at identity is read from
# $MP_DATA_DIR/secrets/payments_client_secret when that file exists (create the service
# account with identity's CreateServiceAccount, scopes identity.accounts.read, and store the
# secret there); without it seller checks answer UNAVAILABLE.
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
bind=${MP_BIND_ADDRESS:-127.0.0.1}
flags=("--identity_address=$bind:${MP_IDENTITY_GRPC_PORT:-7001}"
  "--events_target=$bind:${MP_SELLERKPI_GRPC_PORT:-7005}")
secret="$MP_DATA_DIR/secrets/payments_client_secret"
if [ -s "$secret" ]; then flags+=("--service_client_secret_file=$secret"); fi
echo "${flags[@]}"
