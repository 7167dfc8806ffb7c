#!/usr/bin/env python3
"""Prints "<passed> <failed>" test targets from a Bazel --build_event_json_file.

A target counts as passed when its testSummary says PASSED (or FLAKY: passed on a retry is
still reported as failed here, so flakiness is never hidden); every other final status
(FAILED, TIMEOUT, NO_STATUS, INCOMPLETE, FAILED_TO_BUILD, ...) counts as failed. A test
target that was requested but never got a summary (its build failed) counts as failed.
"""
import json
import sys


def main(path):
    passed, failed = set(), set()
    requested = set()
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                event = json.loads(line)
                ident = event.get("id", {})
                if "testSummary" in ident:
                    label = ident["testSummary"]["label"]
                    status = event.get("testSummary", {}).get("overallStatus", "NO_STATUS")
                    (passed if status == "PASSED" else failed).add(label)
                elif "targetCompleted" in ident:
                    completed = event.get("completed", {})
                    if completed.get("testSize") or "testTimeoutSeconds" in completed:
                        requested.add(ident["targetCompleted"]["label"])
                    elif event.get("aborted") is not None:
                        pass
                elif "targetConfigured" in ident:
                    kind = event.get("configured", {}).get("targetKind", "")
                    if kind.endswith(" test") or kind.endswith("_test rule"):
                        requested.add(ident["targetConfigured"]["label"])
    except FileNotFoundError:
        pass
    failed |= requested - passed - failed
    print(len(passed), len(failed))


if __name__ == "__main__":
    main(sys.argv[1])
