#!/bin/sh
script="$0.runfiles/marketplace/bazel/embed_files.py"
[ -f "$script" ] || script="$(dirname "$0")/embed_files.py"
exec /usr/bin/python3 "$script" "$@"
