#!/usr/bin/env bash
# Builds the OCI image of one service, offline and without a container engine:
#   bash tools/image/build.sh <identity|catalog|payments|support|sellerkpi|gateway>
# Writes an OCI layout to .images/<service> (git-ignored; MP_IMAGE_DIR changes the parent),
# tagged with the version (common/version.h; MP_IMAGE_TAG overrides), and prints the
# manifest digest (also in .images/<service>.digest) for the prod overlay's `images:`.
#
# One layer (tools/image/make_layer.py): the Bazel binary at /app/<binary>, its shared-library
# closure from this machine's Debian packages, passwd/group with nonroot 65532, the CA bundle,
# zoneinfo and the service's data files. No shell. Fixed mtimes, owners and order: two builds of
# the same commit give the same digest. Read it with `skopeo inspect oci:.images/<svc>:<tag>`;
# push with `skopeo copy oci:.images/<svc>:<tag> docker://<registry>/marketplace/<svc>:<tag>`
# or export with `skopeo copy oci:.images/<svc>:<tag> docker-archive:<svc>.tar`.
#
# MP_IMAGE_BINARY=<path> skips the Bazel build and packs that binary instead (tests).
set -euo pipefail
cd "$(dirname "$0")/../.."

svc="${1:?usage: build.sh <service>}"
case "$svc" in
  identity|catalog|payments|support|sellerkpi) bin="${svc}_server" ;;
  gateway) bin="gateway" ;;
  *) echo "build.sh: unknown service '$svc'" >&2; exit 2 ;;
esac
version=$(sed -n 's/^inline constexpr char kVersion\[\] = "\(.*\)";$/\1/p' common/version.h)
tag="${MP_IMAGE_TAG:-$version}"
out="${MP_IMAGE_DIR:-.images}/$svc"

data=()
case "$svc" in
  catalog)
    for f in categories.json moderation_rules.json category_model.ftz; do
      data+=(--data "services/catalog/data/$f=/app/services/catalog/data/$f")
    done ;;
  sellerkpi)
    data+=(--data "services/sellerkpi/data/thresholds.textproto=/app/services/sellerkpi/data/thresholds.textproto") ;;
esac

if [ -n "${MP_IMAGE_BINARY:-}" ]; then
  binary="$MP_IMAGE_BINARY"
else
  targets=("//services/$svc:$bin")
  [ "$svc" = gateway ] && targets+=(//protos:api_descriptor_set)
  # The commit --version prints comes from Bazel's stable status (common/version.h).
  bazel build --workspace_status_command=tools/workspace_status.sh "${targets[@]}" >&2
  binary="bazel-bin/services/$svc/$bin"
fi
if [ "$svc" = gateway ]; then
  descriptors="${MP_IMAGE_DESCRIPTORS:-bazel-bin/protos/api_descriptor_set.pb}"
  data+=(--data "$descriptors=/app/protos/api_descriptor_set.pb")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tools/image/make_layer.py --binary "$binary" --name "$bin" --out "$work/layer.tar" \
  "${data[@]}"

rm -rf "$out"
mkdir -p "$(dirname "$out")"
umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci raw add-layer --image "$out:$tag" --history.created 1970-01-01T00:00:00Z \
  --history.created_by "tools/image/build.sh $svc" "$work/layer.tar"
umoci config --image "$out:$tag" --no-history \
  --created 1970-01-01T00:00:00Z --author marketplace \
  --os linux --architecture amd64 \
  --config.user 65532:65532 --config.workingdir /app \
  --config.entrypoint "/app/$bin" \
  --config.env PATH=/app --config.env TZDIR=/usr/share/zoneinfo \
  --config.label "org.opencontainers.image.title=marketplace-$svc" \
  --config.label "org.opencontainers.image.version=$version"
umoci gc --layout "$out"

digest=$(/usr/bin/python3 - "$out" "$tag" <<'PY'
import json, sys
index = json.load(open(f"{sys.argv[1]}/index.json"))
for m in index["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])
PY
)
echo "$digest" > "$out.digest"
echo "$digest"
