"""The ``sarif`` report: SARIF 2.1.0 for code-scanning dashboards (GitHub, GitLab, Azure DevOps).

Standard: OASIS Static Analysis Results Interchange Format 2.1.0
(https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html). The
``security-severity`` rule property (a number in [0, 10] written as a string)
follows GitHub code scanning's convention, which buckets it like CVSS v3.

Shape: one SARIF run per :class:`RunSummary`, ``tool.driver.name`` ``"ragward"``;
one rule per test id (short description = title, help = the mitigation, tags =
the OWASP LLM Top 10 and MITRE ATLAS references); one result per finding, its
level derived from the severity and its logical location naming the target.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from ragward.model import Finding, RunStatus, RunSummary, Severity, TestResult
from ragward.reports._common import (
    Counts,
    findings_of,
    mitigation_href,
    mitigation_label,
    profile_name,
    ragward_version,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

#: ``security-severity`` per severity (GitHub buckets: >= 9.0 critical, >= 7.0 high,
#: >= 4.0 medium, > 0 low).
SECURITY_SEVERITY: dict[Severity, float] = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 3.0,
    Severity.INFO: 0.0,
}

#: SARIF ``level`` per severity.
LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}

_WORD = re.compile(r"[A-Za-z0-9]+")


def _utc(moment: datetime) -> str:
    """``moment`` as a SARIF UTC timestamp (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rule_name(title: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in _WORD.findall(title)) or "Test"


def _help(finding: Finding | None) -> dict[str, str]:
    if finding is None:
        return {"text": "No finding in this run; mitigations are described in docs/mitigations.md."}
    label = mitigation_label(finding.mitigation)
    href = mitigation_href(finding.mitigation)
    markdown = f"Mitigation: [{label}]({href})" if href else f"Mitigation: {finding.mitigation}"
    return {"text": f"Mitigation: {label} ({href or finding.mitigation})", "markdown": markdown}


def _rule(rule_id: str, title: str, severity: Severity, finding: Finding | None) -> dict[str, Any]:
    tags = ["security", *(finding.owasp if finding else []), *(finding.atlas if finding else [])]
    return {
        "id": rule_id,
        "name": _rule_name(title),
        "shortDescription": {"text": title},
        "help": _help(finding),
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "tags": tags,
            "security-severity": f"{SECURITY_SEVERITY[severity]:.1f}",
        },
    }


def _rules(tests: list[TestResult], findings: list[Finding]) -> list[dict[str, Any]]:
    """One rule per test id, in test order; findings whose test is absent get a rule too."""
    first_finding: dict[str, Finding] = {}
    for finding in findings:
        first_finding.setdefault(finding.test_id, finding)
    rules: dict[str, dict[str, Any]] = {}
    for test in tests:
        if test.id not in rules:
            found = first_finding.get(test.id, test.finding)
            rules[test.id] = _rule(test.id, test.title, test.severity, found)
    for test_id, finding in first_finding.items():
        if test_id not in rules:
            rules[test_id] = _rule(test_id, finding.title, finding.severity, finding)
    return list(rules.values())


def _fingerprint(run: RunSummary, finding: Finding) -> str:
    key = "\x1f".join((profile_name(run), run.target, finding.test_id, str(finding.category)))
    return hashlib.sha256(key.encode()).hexdigest()


def _result(run: RunSummary, finding: Finding, rule_index: int) -> dict[str, Any]:
    location_name = run.target or profile_name(run)
    return {
        "ruleId": finding.test_id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": LEVEL[finding.severity],
        "message": {"text": f"{finding.title} [{finding.severity} {finding.category}]: {finding.evidence}"},
        "locations": [
            {
                "logicalLocations": [
                    {
                        "name": location_name,
                        "fullyQualifiedName": f"{profile_name(run)}::{location_name}",
                        "kind": "resource",
                    }
                ]
            }
        ],
        "partialFingerprints": {"ragwardFinding/v1": _fingerprint(run, finding)},
        "properties": {
            "finding_id": finding.id,
            "category": str(finding.category),
            "severity": str(finding.severity),
            "security-severity": f"{SECURITY_SEVERITY[finding.severity]:.1f}",
            "owasp": list(finding.owasp),
            "atlas": list(finding.atlas),
            "mitigation": mitigation_href(finding.mitigation) or finding.mitigation,
            "evidence": finding.evidence,
        },
    }


def _invocation(run: RunSummary) -> dict[str, Any]:
    invocation: dict[str, Any] = {
        "executionSuccessful": run.status is not RunStatus.FAILED and not run.error,
        "startTimeUtc": _utc(run.started_at),
    }
    if run.completed_at is not None:
        invocation["endTimeUtc"] = _utc(run.completed_at)
    if run.error:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": run.error}}]
    return invocation


def sarif_run(run: RunSummary) -> dict[str, Any]:
    """The SARIF ``run`` object for one :class:`RunSummary`."""
    findings = findings_of(run)
    rules = _rules(run.tests, findings)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    counts = Counts.of_run(run)
    return {
        "tool": {
            "driver": {
                "name": "ragward",
                "version": ragward_version(),
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"ragward/{profile_name(run)}/{run.id}"},
        "invocations": [_invocation(run)],
        "results": [_result(run, f, index[f.test_id]) for f in findings],
        "properties": {
            "run_id": run.id,
            "target": run.target,
            "profile": run.profile,
            "test_profile": run.test_profile,
            "status": str(run.status),
            "tests_run": counts.run,
            "tests_passed": counts.passed,
            "tests_failed": counts.failed,
            "tests_skipped": counts.skipped,
            "duration_ms": run.duration_ms,
        },
    }


def to_document(runs: Sequence[RunSummary]) -> dict[str, Any]:
    """The SARIF log for ``runs`` as a JSON-ready dict."""
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [sarif_run(run) for run in runs],
    }


def render(runs: Sequence[RunSummary], stream: TextIO) -> None:
    """Write the SARIF 2.1.0 log of ``runs`` to ``stream`` (UTF-8 JSON, 2-space indent)."""
    json.dump(to_document(runs), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
