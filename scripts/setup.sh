#!/usr/bin/env bash
# Installs what the platform needs from Debian 12 packages. Idempotent: when everything is
# present it only checks (about a second) and installs nothing.
set -euo pipefail

PACKAGES=(
  bazel-bootstrap bazel-platforms bazel-skylib bazel-rules-java bazel-rules-proto
  g++ pkg-config python3
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libmysqlcppconn-dev mariadb-server mariadb-client
  prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  golang-github-gogo-googleapis-dev grpc-proto
  libsodium-dev libssl-dev nlohmann-json3-dev libboost-dev
  python3-grpcio python3-protobuf
  util-linux procps openssl
  libicu-dev libfasttext-dev fasttext
  nghttp2-client clang-14 libclang-rt-14-dev
  umoci skopeo prometheus python3-yaml python3-kubernetes python3-jsonschema
)

# Debian 12's kubectl (kustomize v2.0.3) for tests/k8s, unpacked into .tools/ (git-ignored)
# rather than installed: another package may already own /usr/bin/kubectl, and dpkg would refuse.
TOOLS_DIR="$(cd "$(dirname "$0")/.." && pwd)/.tools"
if [ ! -x "$TOOLS_DIR/usr/bin/kubectl" ]; then
  echo "setup: unpacking Debian's kubernetes-client into $TOOLS_DIR"
  download=$(mktemp -d)
  chmod 0777 "$download"  # apt's _apt user writes the file
  if ! (cd "$download" && apt-get download -qq kubernetes-client 2>/dev/null); then
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq; else sudo apt-get update -qq; fi
    (cd "$download" && apt-get download -qq kubernetes-client)
  fi
  mkdir -p "$TOOLS_DIR"
  dpkg -x "$download"/kubernetes-client_*.deb "$TOOLS_DIR"
  rm -rf "$download"
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# MariaDB's package would start the system service; the platform runs its own server instead.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
