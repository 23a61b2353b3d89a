"""The alert rules and the Alertmanager config pass Prometheus' own tools (installed by
`make monitoring`): `promtool check rules`, the rules' unit tests (`promtool test rules`) and
`amtool check-config`."""

import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "fin_assets_rules.yml"


def run(*command: str | Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_rule_files_are_valid() -> None:
    assert "SUCCESS: 13 rules found" in run("promtool", "check", "rules", RULES)


def test_rule_unit_tests_pass() -> None:
    output = run("promtool", "test", "rules", RULES.with_name("fin_assets_rules_test.yml"))
    assert "SUCCESS" in output


def test_every_alert_has_a_unit_test() -> None:
    rules = RULES.read_text()
    tests = RULES.with_name("fin_assets_rules_test.yml").read_text()
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert len(alerts) == 13
    assert [a for a in alerts if f"alertname: {a}" not in tests] == []


def test_alertmanager_config_is_valid() -> None:
    output = run("amtool", "check-config", DEPLOY / "alertmanager" / "alertmanager.yml")
    assert "SUCCESS" in output
