#!/usr/bin/env bash
# Table-level grants of the payments database user, run by the database owner after the
# owner applied the migrations (payments_server --migrate_only as the owner):
#   MP_MYSQL="mariadb -uroot -h127.0.0.1 -P3307 --protocol=tcp" provision_db.sh payments [DATA]
#
# The ledger journal is append-only: the service's user may only SELECT and INSERT
# ledger_transactions, ledger_entries and payment_events (no UPDATE, no DELETE), so no bug or
# intrusion in the service can rewrite money history. Other tables get what the code needs.
# Any database-wide rights the user had on the database are revoked first.
#
# Environment: MP_MYSQL (client command, required), MP_DB_NAME (default: the service name),
# MP_DB_USER (default: the service name), MP_DB_USER_HOST (default 127.0.0.1).
set -euo pipefail
svc=${1:?usage: provision_db.sh SERVICE [DATA_DIR]}
: "${MP_MYSQL:?MP_MYSQL must name the mariadb client command of the database owner}"
db=${MP_DB_NAME:-$svc}
user=${MP_DB_USER:-$svc}
host=${MP_DB_USER_HOST:-127.0.0.1}
for name in "$db" "$user" "$host"; do
  if ! [[ "$name" =~ ^[A-Za-z0-9_.]+$ ]]; then
    echo "provision_db.sh: refusing unusual name '$name'" >&2
    exit 2
  fi
done
account="'$user'@'$host'"

journal_tables="ledger_transactions ledger_entries payment_events"
mutable_tables="payments seller_accounts hold_policies payouts processor_operations disputes idempotency_keys
  payment_intents payment_intent_outcomes
  outbox_events outbox_deliveries outbox_dead_letters processed_events token_revocations"

sql="REVOKE ALL PRIVILEGES ON \`$db\`.* FROM $account;"
for t in $journal_tables; do
  sql+="GRANT SELECT, INSERT ON \`$db\`.\`$t\` TO $account;"
done
for t in $mutable_tables; do
  sql+="GRANT SELECT, INSERT, UPDATE, DELETE ON \`$db\`.\`$t\` TO $account;"
done
# Start-up reads the applied migrations (CREATE TABLE IF NOT EXISTS needs CREATE on it).
sql+="GRANT SELECT, INSERT, CREATE ON \`$db\`.\`schema_migrations\` TO $account;"
# REVOKE fails when the account holds no database-wide grant; that is fine.
$MP_MYSQL -e "REVOKE ALL PRIVILEGES ON \`$db\`.* FROM $account" 2>/dev/null || true
$MP_MYSQL -e "${sql#*;}"
echo "provision_db.sh: $account may append to but not change: $journal_tables"
