"""Alert and recording rules, tested with promtool (Debian's prometheus package);
every PromQL expression of the Grafana dashboards parses."""

from __future__ import annotations

import json
import subprocess

import yaml

from tests.deploy_support import BASE_DIR, DASHBOARDS_DIR, RULES_DIR, require_binary

RULE_TESTS = BASE_DIR / "tests" / "prometheus" / "taskbeat.test.yaml"


def _rules() -> list[dict]:
    return [
        rule
        for path in RULES_DIR.glob("*.rules.yaml")
        for g in yaml.safe_load(path.read_text())["groups"]
        for rule in g["rules"]
    ]


def _promtool(*args: str) -> None:
    result = subprocess.run([require_binary("promtool"), *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_rule_files():
    _promtool("check", "rules", *map(str, RULES_DIR.glob("*.rules.yaml")))


def test_the_rules_pass_their_promtool_unit_tests():
    _promtool("test", "rules", str(RULE_TESTS))


def test_every_alert_has_a_unit_test_a_severity_and_a_runbook_entry():
    alerts = [rule for rule in _rules() if "alert" in rule]
    assert len(alerts) >= 12
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    runbook = (BASE_DIR / "docs" / "operations.md").read_text()
    for alert in alerts:
        assert alert["alert"] in tested, f"{alert['alert']} never fires in a promtool test"
        assert alert["labels"]["severity"] in ("critical", "warning", "info")
        assert {"summary", "description"} <= set(alert["annotations"])
        assert f"`{alert['alert']}`" in runbook, (
            f"docs/operations.md has no runbook entry for {alert['alert']}"
        )


def test_every_dashboard_expression_parses(tmp_path):
    # promtool parses PromQL when it checks rules: one recording rule per panel query.
    rules = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("taskbeat-")
        assert dashboard["panels"]
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                rules.append({"record": f"dashboard:{path.stem}:{len(rules)}", "expr": target["expr"]})
    assert len(rules) > 30
    check = tmp_path / "dashboards.rules.yaml"
    check.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    _promtool("check", "rules", str(check))
