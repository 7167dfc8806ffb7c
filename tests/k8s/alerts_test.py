"""The alerting rules and the dashboard: `promtool check rules`, `promtool test rules` (series
that must fire each alert and series that must not, k8s/monitoring/alerts_test.yaml), the
PrometheusRule equal to alerts.yaml, a RUNBOOK section per alert, every dashboard expression
parsed by promtool."""
import json
import os
import re
import subprocess
import tempfile
import unittest

import yaml

import k8s_lib

PROMTOOL = "/usr/bin/promtool"  # Debian's prometheus package
ALERTS = ["SupportSlaBreachRateHigh", "LedgerVerificationFailed", "LedgerVerificationStale",
          "GrpcErrorRateHigh", "GrpcLatencyHigh", "OutboxBacklogGrowing", "SellersCriticalSpike",
          "PodNotReady"]


def monitoring(name):
    return os.path.join(k8s_lib.k8s_dir(), "monitoring", name)


def load(name):
    with open(monitoring(name)) as f:
        return yaml.safe_load(f)


def promtool(*args, cwd=None):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd)


def rules():
    return [r for g in load("alerts.yaml")["groups"] for r in g["rules"]]


class AlertsTest(unittest.TestCase):
    def test_check_rules(self):
        result = promtool("check", "rules", monitoring("alerts.yaml"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn(f"SUCCESS: {len(ALERTS)} rules found", result.stdout)

    def test_unit_tests_fire_and_do_not_fire(self):
        result = promtool("test", "rules", "alerts_test.yaml", cwd=monitoring(""))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("SUCCESS", result.stdout)

    def test_every_alert_has_firing_and_quiet_cases(self):
        tests = load("alerts_test.yaml")["tests"]
        for alert in ALERTS:
            cases = [c for t in tests for c in t.get("alert_rule_test", [])
                     if c["alertname"] == alert]
            self.assertTrue(any(c.get("exp_alerts") for c in cases), f"{alert}: never fires")
            quiet = [c for c in cases if not c.get("exp_alerts")]
            # Quiet series sit next to the firing ones when no case expects silence.
            self.assertTrue(quiet or any(len(t["input_series"]) > 1 for t in tests
                                         if any(c["alertname"] == alert
                                                for c in t.get("alert_rule_test", []))),
                            f"{alert}: no series that must not fire")

    def test_a_broken_rule_fails_its_unit_test(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name in ("alerts.yaml", "alerts_test.yaml"):
                with open(monitoring(name)) as src, open(os.path.join(tmp, name), "w") as dst:
                    text = src.read()
                    dst.write(text.replace("> 0.02", "> 0.5") if name == "alerts.yaml" else text)
            result = promtool("test", "rules", "alerts_test.yaml", cwd=tmp)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("GrpcErrorRateHigh", result.stdout + result.stderr)

    def test_the_listed_alerts_with_severity_summary_and_runbook(self):
        with open(os.path.join(k8s_lib.k8s_dir(), "RUNBOOK.md")) as f:
            runbook = f.read()
        names = [r["alert"] for r in rules()]
        self.assertEqual(sorted(names), sorted(ALERTS))
        for r in rules():
            self.assertIn(r["labels"].get("severity"), ("warning", "critical"), r["alert"])
            self.assertTrue(r["annotations"].get("summary"), r["alert"])
            self.assertRegex(runbook, rf"(?m)^## {r['alert']}$", r["alert"])
            self.assertEqual(r["annotations"]["runbook_url"],
                             f"k8s/RUNBOOK.md#{r['alert'].lower()}")

    def test_prometheusrule_wraps_alerts_yaml(self):
        wrapped = load("prometheusrule.yaml")
        self.assertEqual(wrapped["kind"], "PrometheusRule")
        self.assertEqual(wrapped["spec"]["groups"], load("alerts.yaml")["groups"],
                         "run python3 k8s/monitoring/wrap_rules.py")

    def test_every_dashboard_expression_parses(self):
        with open(monitoring("dashboard.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(exprs), 10)
        group = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:expr{i}", "expr": re.sub(r"\$service", ".*", e)}
            for i, e in enumerate(exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump(group, f)
            f.flush()
            result = promtool("check", "rules", f.name)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_dashboard_covers_the_issue(self):
        with open(monitoring("dashboard.json")) as f:
            text = f.read()
        for metric in ["grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
                       "db_pool_connections", "outbox_pending", "payments_escrow_held_minor",
                       "support_sla_clocks_total", "sellerkpi_sellers"]:
            self.assertIn(metric, text)


if __name__ == "__main__":
    unittest.main()
