"""issue 23: the alert rules and the Grafana dashboard in docs/ are valid and use only metrics /metrics has.

The rules are checked with ``promtool check rules`` (Debian's ``prometheus`` package, which
scripts/install-test-deps.sh installs), and always with a structural check of their YAML."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from portal.ops.views import metrics_text

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "prometheus-alerts.yml"
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
NAME = re.compile(r"\bhdp_portal_[a-z_]+")


def _exposed() -> set[str]:
    names = set()
    for family in text_string_to_metric_families(metrics_text().decode()):
        suffixes = ("_bucket", "_count", "_sum") if family.type == "histogram" else ("",)
        if family.type == "counter":
            suffixes = ("_total",)
        names.update(family.name + suffix for suffix in suffixes)
    return names


def test_alert_rules_structure():
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == [
        "HdpPortalTenantSetupsBroken",
        "HdpPortalTaskQueueStuck",
        "HdpPortalSignInsLapsingSoon",
        "HdpPortalHdpLatencyHigh",
    ]
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool missing: scripts/install-test-deps.sh installs Debian's prometheus",
)
def test_alert_rules_pass_promtool():
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_deploy_md_shows_the_same_rules():
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert RULES.read_text().strip() in deploy


@pytest.mark.django_db
def test_rules_and_dashboard_use_only_exposed_metrics():
    exposed = _exposed()
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [r["expr"] for r in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]]
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used - exposed == set()
    # The dashboard covers what the issue asks for.
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("per tenant", "checks", "hdp latency", "consent funnel", "queue"):
        assert topic in titles, topic
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
