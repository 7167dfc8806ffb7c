#!/usr/bin/env bash
# Fills k8s/overlays/dev/secrets/ (git-ignored) with throwaway secrets for the dev overlay's
# secretGenerator. Existing files are kept (run it again safely); delete the folder for new ones.
#   <svc>-db/password        the service's DML database user (<svc>)
#   <svc>-db-owner/password  the DDL user (<svc>_owner), used only by the migrate init container
#   identity-keys/kek        identity's signing-key encryption key (64 hex digits)
#   identity-bootstrap-admin/password
#   <svc>-identity/client_id, client_secret  (catalog, payments, support) placeholders: create
#     the SERVICE accounts at identity (tools/identity_cli, scopes in services/<svc>/identity_scopes)
#     and write their real credentials here, then apply the overlay again.
# The database users must exist with these passwords (see services/<svc>/provision_db.sh).
set -euo pipefail
dir="${1:-$(dirname "$0")/secrets}"
umask 077
random() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
put() {  # put SECRET KEY VALUE: written once
  mkdir -p "$dir/$1"
  [ -s "$dir/$1/$2" ] || printf '%s' "$3" >"$dir/$1/$2"
}
for svc in identity catalog payments support sellerkpi; do
  put "$svc-db" password "$(random 24)"
  put "$svc-db-owner" password "$(random 24)"
done
put identity-keys kek "$(random 32)"
put identity-bootstrap-admin password "$(random 18)"
for svc in catalog payments support; do
  put "$svc-identity" client_id "placeholder-$svc"
  put "$svc-identity" client_secret "$(random 24)"
done
echo "dev secrets in $dir"
