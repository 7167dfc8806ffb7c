#!/usr/bin/env bash
# Runs one tests/k8s Python test with Debian's python3 (python3-yaml, python3-kubernetes,
# python3-jsonschema): bazel's py_test launcher would want a `python` on PATH.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/$1"
