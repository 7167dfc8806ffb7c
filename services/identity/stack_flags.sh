#!/usr/bin/env bash
# Prints the identity-specific flags of the local stack (scripts/stack.sh passes them to
# identity_server). Generates, once, into $MP_DATA_DIR/secrets:
#   identity_kek             the signing-key encryption key (64 hex digits)
#   identity_admin_password  the bootstrap admin's initial password
# The bootstrap admin is admin@marketplace.local (override with MP_IDENTITY_ADMIN_EMAIL).
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
secrets="$MP_DATA_DIR/secrets"
mkdir -p "$secrets"
chmod 700 "$secrets"
kek="$secrets/identity_kek"
admin_pw="$secrets/identity_admin_password"
if [ ! -s "$kek" ]; then
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$kek")
fi
if [ ! -s "$admin_pw" ]; then
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$admin_pw")
fi
# identity's events (suspension, sessions ended, reinstatement) go to every service that
# verifies tokens: each refuses the account's older tokens from then on.
bind=${MP_BIND_ADDRESS:-127.0.0.1}
subscribers="catalog=$bind:${MP_CATALOG_GRPC_PORT:-7002}:identity.,payments=$bind:${MP_PAYMENTS_GRPC_PORT:-7003}:identity.,support=$bind:${MP_SUPPORT_GRPC_PORT:-7004}:identity.,sellerkpi=$bind:${MP_SELLERKPI_GRPC_PORT:-7005}:identity."
echo "--event_subscribers=$subscribers" \
  "--signing_key_encryption_key_file=$kek" \
  "--bootstrap_admin_email=${MP_IDENTITY_ADMIN_EMAIL:-admin@marketplace.local}" \
  "--bootstrap_admin_password_file=$admin_pw"
