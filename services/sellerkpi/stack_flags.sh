#!/usr/bin/env bash
# Prints the sellerkpi-specific flags of the local stack (scripts/stack.sh passes them to
# sellerkpi_server). The seed thresholds are read from the repository (the stack runs from its
# root). sellerkpi verifies tokens with identity's published keys; it calls no other service,
# so it needs no service account of its own. payments' relay delivers its events to sellerkpi
# (services/payments/stack_flags.sh lists sellerkpi as the subscriber of "payments.").
set -euo pipefail
: "${MP_DATA_DIR:?MP_DATA_DIR must be set}"
flags=("--thresholds_file=services/sellerkpi/data/thresholds.textproto"
       "--identity_address=${MP_BIND_ADDRESS:-127.0.0.1}:${MP_IDENTITY_GRPC_PORT:-7001}")
echo "${flags[@]}"
