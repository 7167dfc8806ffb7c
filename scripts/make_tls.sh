#!/usr/bin/env bash
# A throwaway certificate authority and one certificate it signs, for the local stack
# (.data/tls) and the tests. Not for production: there the certificates come from the
# cluster's issuer (k8s/README.md "Transport security").
#   make_tls.sh DIR [NAME...]
# writes, once (existing files are kept):
#   DIR/ca.pem    the authority's certificate: what --tls_ca_file trusts
#   DIR/ca.key    its key (signs only DIR/cert.pem)
#   DIR/cert.pem  a certificate for localhost, 127.0.0.1, ::1 and each NAME (a host name or an
#                 IPv4 address), usable by a server
#                 and as a client certificate (mutual TLS): --tls_cert_file
#   DIR/key.pem   its key: --tls_key_file
# Keys are EC P-256; the authority lasts 10 years, the certificate 825 days.
set -euo pipefail
dir="$1"; shift
mkdir -p "$dir"
[ -s "$dir/ca.pem" ] && [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && exit 0
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 \
  -subj "/CN=marketplace throwaway CA $(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req "${ec[@]}" -keyout "$tmp/key.pem" -out "$tmp/cert.csr" -subj "/CN=localhost" 2>/dev/null
sans="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  case "$name" in
    ""|localhost|127.0.0.1) ;;
    *[!0-9.]*) sans="$sans,DNS:$name" ;;
    *) sans="$sans,IP:$name" ;;
  esac
done
printf '%s\n' "subjectAltName=$sans" "extendedKeyUsage=serverAuth,clientAuth" \
  "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" >"$tmp/ext"
openssl x509 -req -in "$tmp/cert.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
  -set_serial "0x$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" -days 825 \
  -extfile "$tmp/ext" -out "$tmp/cert.pem" 2>/dev/null
chmod 0644 "$tmp/ca.pem" "$tmp/cert.pem"
for f in ca.pem ca.key cert.pem key.pem; do mv -f "$tmp/$f" "$dir/$f"; done
