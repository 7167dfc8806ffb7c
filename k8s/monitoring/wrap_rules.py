#!/usr/bin/env python3
"""Writes prometheusrule.yaml: the groups of alerts.yaml wrapped as a Prometheus Operator
PrometheusRule. Run after editing alerts.yaml: python3 k8s/monitoring/wrap_rules.py"""
import os

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = ("# Generated from alerts.yaml by wrap_rules.py: edit alerts.yaml, then run\n"
          "#   python3 k8s/monitoring/wrap_rules.py\n")


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the expressions) as literal blocks, as in alerts.yaml."""


def _str(dumper, text):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def wrapped(alerts):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "marketplace-alerts", "labels": {"role": "alert-rules"}},
        "spec": {"groups": alerts["groups"]},
    }


def main():
    with open(os.path.join(HERE, "alerts.yaml")) as f:
        alerts = yaml.safe_load(f)
    with open(os.path.join(HERE, "prometheusrule.yaml"), "w") as f:
        f.write(HEADER)
        yaml.dump(wrapped(alerts), f, Dumper=_Dumper, sort_keys=False, width=120)


if __name__ == "__main__":
    main()
