#!/usr/bin/env bash
# Renders every overlay and checks the shape each Deployment must have.
set -euo pipefail
# Bazel's runfiles are symlinks, which kustomize does not follow: render from a real copy.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -rL "$(dirname "$0")/." "$work/"
cd "$work"
command -v kubectl >/dev/null || { echo "kubectl not installed: cannot render"; exit 1; }
for overlay in overlays/*/; do
  out=$(kubectl kustomize "$overlay")
  deployments=$(grep -c '^kind: Deployment' <<<"$out")
  [ "$deployments" -ge 1 ] || { echo "$overlay: no Deployment"; exit 1; }
  for must in 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' 'service: liveness' \
              'readinessProbe:' 'limits:' 'requests:'; do
    n=$(grep -c -- "$must" <<<"$out" || true)
    [ "$n" -ge "$deployments" ] || { echo "$overlay: '$must' missing in a Deployment"; exit 1; }
  done
  echo "$overlay: $deployments deployment(s) render"
done
