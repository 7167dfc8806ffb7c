#!/usr/bin/env bash
# Bazel --workspace_status_command: the commit embedded by //common:build_info (--version).
# Usage: bazel build --workspace_status_command=tools/workspace_status.sh //services/...
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="${commit}-dirty"
fi
echo "STABLE_BUILD_COMMIT ${commit}"
