#!/usr/bin/env bash
# Prints the catalog-specific flags of the local stack (scripts/stack.sh passes them to
# catalog_server). The data files are read from the repository (the stack runs from its root).
# catalog calls identity (seller status) with its own service account: when
# $MP_DATA_DIR/secrets/catalog_client_id and catalog_client_secret exist (an ADMIN creates the
# account with identity's CreateServiceAccount, scope identity.accounts.read), they are passed.
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
secrets="$MP_DATA_DIR/secrets"
flags=("--categories_file=services/catalog/data/categories.json"
       "--moderation_rules_file=services/catalog/data/moderation_rules.json"
       "--category_model_file=services/catalog/data/category_model.ftz"
       "--identity_address=${MP_BIND_ADDRESS:-127.0.0.1}:${MP_IDENTITY_GRPC_PORT:-7001}")
if [ -s "$secrets/catalog_client_id" ] && [ -s "$secrets/catalog_client_secret" ]; then
  flags+=("--service_client_id=$(cat "$secrets/catalog_client_id")"
          "--service_client_secret_file=$secrets/catalog_client_secret")
fi
echo "${flags[@]}"
