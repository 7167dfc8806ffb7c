#!/usr/bin/env bash
# Sets up everything and runs every test: the unit, storage (real MariaDB started by the tests)
# and cross-service tests. Ends with one line "N passed, N failed" counting test targets.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

events=$(mktemp)
trap 'rm -f "$events"' EXIT
# Two cores: one test binary at a time keeps MariaDB-backed tests from starving each other.
bazel test //... --local_test_jobs="${MP_TEST_JOBS:-2}" --test_summary=short \
  --build_event_json_file="$events" "$@"
status=$?

# Count test targets from Bazel's build event protocol (one testSummary per target), so the
# figure does not depend on how the console summary is printed.
read -r passed failed < <(python3 scripts/count_tests.py "$events")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the build itself failed before any test could run
fi
echo "${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
