"""The sarif report: SARIF 2.1.0 structure, rules, severities, results, locations."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from ragward.model import (
    Category,
    Finding,
    Outcome,
    RunStatus,
    RunSummary,
    Severity,
    Suite,
    TestResult,
)
from ragward.reports import sarif

LEVELS = {"none", "note", "warning", "error"}


def _render(runs: list[RunSummary]) -> dict[str, Any]:
    buf = io.StringIO()
    sarif.render(runs, buf)
    doc: dict[str, Any] = json.loads(buf.getvalue())
    return doc


def check_sarif(doc: dict[str, Any]) -> None:
    """The required keys and cross-references of SARIF 2.1.0 (sections 3.13 to 3.27)."""
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(doc["runs"], list)
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str)
        assert driver["name"]
        rules = driver.get("rules", [])
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)), "rule ids are unique"
        for rule in rules:
            assert "text" in rule["shortDescription"]
            assert "text" in rule["help"]
            assert rule["defaultConfiguration"]["level"] in LEVELS
            assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
            assert all(isinstance(t, str) for t in rule["properties"]["tags"])
        for result in run["results"]:
            assert "text" in result["message"]
            assert result["level"] in LEVELS
            assert result["kind"] in {
                "fail",
                "pass",
                "open",
                "review",
                "notApplicable",
                "informational",
            }
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            for location in result["locations"]:
                for logical in location["logicalLocations"]:
                    assert logical["name"]
        for invocation in run["invocations"]:
            assert isinstance(invocation["executionSuccessful"], bool)
            assert invocation["startTimeUtc"].endswith("Z")


def test_structure_is_valid_sarif(runs: list[RunSummary]) -> None:
    doc = _render(runs)
    check_sarif(doc)
    assert len(doc["runs"]) == 2
    assert {r["tool"]["driver"]["name"] for r in doc["runs"]} == {"ragward"}


def test_rules_are_the_test_ids_with_titles(vulnerable: RunSummary) -> None:
    run = _render([vulnerable])["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [(r["id"], r["shortDescription"]["text"]) for r in rules] == [(t.id, t.title) for t in vulnerable.tests]
    iso = next(r for r in rules if r["id"] == "RW-ISO-001")
    assert "docs/mitigations.md#tenant-filter-every-mode" in iso["help"]["text"]
    assert "Tenant filter every mode" in iso["help"]["markdown"]
    assert iso["properties"]["tags"] == [
        "security",
        "OWASP LLM02:2025 Sensitive Information Disclosure",
        "OWASP LLM08:2025 Vector and Embedding Weaknesses",
        "AML.T0057 LLM Data Leakage",
    ]
    assert iso["properties"]["security-severity"] == "9.5"


def test_one_result_per_finding_naming_the_target(vulnerable: RunSummary) -> None:
    run = _render([vulnerable])["runs"][0]
    results = run["results"]
    assert sorted(r["ruleId"] for r in results) == sorted(f.test_id for f in vulnerable.findings)
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels == {"RW-CAN-002": "error", "RW-ISO-001": "error", "RW-INJ-001": "warning"}
    for result in results:
        (logical,) = result["locations"][0]["logicalLocations"]
        assert logical["name"] == "lab:vulnerable"
    inj = next(r for r in results if r["ruleId"] == "RW-INJ-001")
    assert "<script>alert('pwned')</script>" in inj["message"]["text"]
    assert inj["properties"]["category"] == "prompt_injection_followed"


def test_hardened_run_has_rules_but_no_results(hardened: RunSummary) -> None:
    run = _render([hardened])["runs"][0]
    assert run["results"] == []
    assert len(run["tool"]["driver"]["rules"]) == len(hardened.tests)
    assert run["properties"]["tests_passed"] == 5


@pytest.mark.parametrize(
    ("severity", "score", "level"),
    [
        (Severity.CRITICAL, "9.5", "error"),
        (Severity.HIGH, "8.0", "error"),
        (Severity.MEDIUM, "5.5", "warning"),
        (Severity.LOW, "3.0", "note"),
        (Severity.INFO, "0.0", "note"),
    ],
)
def test_severity_mapping(
    severity: Severity,
    score: str,
    level: str,
    make_finding: Callable[..., Finding],
    make_test: Callable[..., TestResult],
    make_run: Callable[..., RunSummary],
) -> None:
    finding = make_finding("RW-T-1", "t", Category.STALE_DELETION, severity, "e")
    run = make_run("p", [make_test("RW-T-1", "t", Suite.CANARY, Outcome.FAILED, severity, finding)])
    sarif_run = _render([run])["runs"][0]
    assert sarif_run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == score
    assert sarif_run["results"][0]["level"] == level
    assert sarif_run["results"][0]["properties"]["security-severity"] == score


def test_failed_run_reports_an_unsuccessful_invocation(vulnerable: RunSummary) -> None:
    broken = vulnerable.model_copy(update={"status": RunStatus.FAILED, "error": "target crashed"})
    invocation = _render([broken])["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == "target crashed"
    assert invocation["startTimeUtc"] == "2025-06-01T12:00:00.000Z"
    assert invocation["endTimeUtc"] == "2025-06-01T12:01:05.000Z"


def test_findings_without_their_test_still_get_a_rule(vulnerable: RunSummary) -> None:
    bare = vulnerable.model_copy(update={"tests": []})
    doc = _render([bare])
    check_sarif(doc)
    assert {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]} == {f.test_id for f in vulnerable.findings}


def test_fingerprints_are_stable_and_distinct(runs: list[RunSummary]) -> None:
    first, second = _render(runs), _render(runs)
    prints = [r["partialFingerprints"]["ragwardFinding/v1"] for r in first["runs"][0]["results"]]
    assert prints == [r["partialFingerprints"]["ragwardFinding/v1"] for r in second["runs"][0]["results"]]
    assert len(set(prints)) == len(prints)
