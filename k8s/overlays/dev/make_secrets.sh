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
#   ca/ca.crt, ca/ca.key     a throwaway CA (EC P-256, 365 days); ca.key goes in no Secret
#   <name>-tls/tls.crt, tls.key  (identity, catalog, payments, support, sellerkpi, gateway) an EC
#     P-256 key and a 90-day certificate signed by that CA: extendedKeyUsage serverAuth and
#     clientAuth (the same certificate serves and, for mutual TLS, identifies the caller),
#     DNS names <name>, <name>.marketplace, <name>.marketplace.svc,
#     <name>.marketplace.svc.cluster.local (callers dial `identity:7000` etc.). The overlay adds
#     ca/ca.crt to each <name>-tls Secret as ca.crt.
#   Kept like the rest, except: a certificate is issued again (new key) when it no longer
#   verifies against ca/ca.crt (new CA), expires within 7 days or does not match its key, and
#   the CA is made again when it expires within 7 days. Needs openssl (scripts/setup.sh).
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

# TLS: a throwaway CA and one certificate per service and the gateway.
command -v openssl >/dev/null || { echo "make_secrets.sh: openssl missing (scripts/setup.sh)" >&2; exit 1; }
week=604800
quiet() {  # quiet COMMAND...: its chatter only when it fails
  local out
  out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
}
conf() {  # conf EXTENSIONS...: a minimal openssl config (the system's openssl.cnf is not read)
  printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n[ext]\n'
  printf '%s\n' "$@"
}
leaf_ok() {  # leaf_ok DIR: tls.crt verifies against the CA, lasts a week more, matches tls.key
  [ -s "$1/tls.crt" ] && [ -s "$1/tls.key" ] &&
    openssl verify -CAfile "$dir/ca/ca.crt" "$1/tls.crt" >/dev/null 2>&1 &&
    openssl x509 -in "$1/tls.crt" -noout -checkend "$week" >/dev/null 2>&1 &&
    [ "$(openssl x509 -in "$1/tls.crt" -noout -pubkey 2>/dev/null)" = \
      "$(openssl pkey -in "$1/tls.key" -pubout 2>/dev/null)" ]
}
mkdir -p "$dir/ca"
if [ ! -s "$dir/ca/ca.crt" ] || [ ! -s "$dir/ca/ca.key" ] ||
   ! openssl x509 -in "$dir/ca/ca.crt" -noout -checkend "$week" >/dev/null 2>&1; then
  conf 'basicConstraints = critical, CA:TRUE, pathlen:0' 'keyUsage = critical, keyCertSign, cRLSign' \
       'subjectKeyIdentifier = hash' >"$dir/ca/openssl.cnf"
  quiet openssl req -x509 -new -config "$dir/ca/openssl.cnf" -extensions ext \
    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 365 \
    -subj "/O=marketplace dev/CN=marketplace dev CA" \
    -keyout "$dir/ca/ca.key" -out "$dir/ca/ca.crt"
  rm -f "$dir/ca/openssl.cnf"
fi
for name in identity catalog payments support sellerkpi gateway; do
  out="$dir/$name-tls"
  mkdir -p "$out"
  if leaf_ok "$out"; then continue; fi
  san="DNS:$name,DNS:$name.marketplace,DNS:$name.marketplace.svc,DNS:$name.marketplace.svc.cluster.local"
  conf 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature, keyEncipherment' \
       'extendedKeyUsage = serverAuth, clientAuth' "subjectAltName = $san" \
       'subjectKeyIdentifier = hash' 'authorityKeyIdentifier = keyid' >"$out/openssl.cnf"
  quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/tls.key"
  quiet openssl req -new -config "$out/openssl.cnf" -key "$out/tls.key" \
    -subj "/O=marketplace dev/CN=$name.marketplace.svc" -out "$out/tls.csr"
  quiet openssl x509 -req -in "$out/tls.csr" -CA "$dir/ca/ca.crt" -CAkey "$dir/ca/ca.key" \
    -set_serial "0x$(random 16)" -days 90 -sha256 -extfile "$out/openssl.cnf" -extensions ext \
    -out "$out/tls.crt"
  rm -f "$out/tls.csr" "$out/openssl.cnf"
done
echo "dev secrets in $dir"
