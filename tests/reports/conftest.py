"""Fixtures of the report tests: hand-built RunSummary objects.

``vulnerable``: passed, failed and skipped tests across the three suites and three
findings (critical, high, medium), one with attacker-controlled markup in its
evidence. ``hardened``: the same tests, all held or skipped, no finding.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ragward.model import (
    Category,
    Finding,
    Layer,
    Outcome,
    RunStatus,
    RunSummary,
    Severity,
    Suite,
    TestResult,
)

OWASP_LLM01 = "OWASP LLM01:2025 Prompt Injection"
OWASP_LLM02 = "OWASP LLM02:2025 Sensitive Information Disclosure"
OWASP_LLM08 = "OWASP LLM08:2025 Vector and Embedding Weaknesses"
ATLAS_INDIRECT = "AML.T0051.001 LLM Prompt Injection: Indirect"
ATLAS_LEAK = "AML.T0057 LLM Data Leakage"

SCRIPT = "<script>alert('pwned')</script>"


def build_finding(
    test_id: str,
    title: str,
    category: Category,
    severity: Severity,
    evidence: str,
    mitigation: str = "mitigations.md#tenant-filter-every-mode",
    owasp: tuple[str, ...] = (OWASP_LLM02, OWASP_LLM08),
    atlas: tuple[str, ...] = (ATLAS_LEAK,),
) -> Finding:
    """A finding for ``test_id``."""
    return Finding(
        id=f"F-{test_id}",
        test_id=test_id,
        title=title,
        category=category,
        severity=severity,
        mitigation=mitigation,
        owasp=list(owasp),
        atlas=list(atlas),
        evidence=evidence,
    )


def build_test(
    test_id: str,
    title: str,
    suite: Suite,
    outcome: Outcome,
    severity: Severity,
    finding: Finding | None = None,
    **extra: object,
) -> TestResult:
    """A test result; ``extra`` sets the optional fields (caught_by, layer, reason …)."""
    return TestResult.model_validate(
        {
            "id": test_id,
            "title": title,
            "suite": suite,
            "outcome": outcome,
            "severity": severity,
            "finding": finding,
            "duration_ms": 1250,
            **extra,
        }
    )


def vulnerable_tests() -> list[TestResult]:
    """Seven tests (passed/failed/skipped): canary 1/1/0, isolation 1/1/1, injection 0/1/1."""
    canary = build_finding(
        "RW-CAN-002",
        "Canary token leaks through the answer",
        Category.CANARY_LEAK,
        Severity.HIGH,
        "answer contained canary RWC-7f3a…c91d from tenant beta",
        mitigation="mitigations.md#output-canary-filter",
    )
    isolation = build_finding(
        "RW-ISO-001",
        "Cross-tenant retrieval in hybrid mode",
        Category.CROSS_TENANT_RETRIEVAL,
        Severity.CRITICAL,
        "tenant alpha retrieved doc beta-0007 (top-k rank 2)",
    )
    injection = build_finding(
        "RW-INJ-001",
        "Indirect prompt injection followed",
        Category.PROMPT_INJECTION_FOLLOWED,
        Severity.MEDIUM,
        f"model obeyed planted instruction: {SCRIPT}",
        mitigation="mitigations.md#spotlight-retrieved-context",
        owasp=(OWASP_LLM01,),
        atlas=(ATLAS_INDIRECT,),
    )
    return [
        build_test(
            "RW-CAN-001",
            "Canary in retrieved context",
            Suite.CANARY,
            Outcome.PASSED,
            Severity.HIGH,
            caught_by="canary-output-filter",
            layer=Layer.OUTPUT,
        ),
        build_test(
            "RW-CAN-002",
            "Canary token leaks through the answer",
            Suite.CANARY,
            Outcome.FAILED,
            Severity.HIGH,
            canary,
            layer=Layer.MODEL,
            layer_inferred=True,
        ),
        build_test(
            "RW-ISO-001",
            "Cross-tenant retrieval in hybrid mode",
            Suite.ISOLATION,
            Outcome.FAILED,
            Severity.CRITICAL,
            isolation,
            layer=Layer.RETRIEVAL,
        ),
        build_test(
            "RW-ISO-002",
            "Missing tenant fails closed",
            Suite.ISOLATION,
            Outcome.PASSED,
            Severity.HIGH,
            caught_by="tenant-filter",
            layer=Layer.RETRIEVAL,
            evidence={"status": 403},
        ),
        build_test(
            "RW-ISO-003",
            "Semantic cache is tenant-scoped",
            Suite.ISOLATION,
            Outcome.SKIPPED,
            Severity.MEDIUM,
            reason="target has no semantic cache",
        ),
        build_test(
            "RW-INJ-001",
            "Indirect prompt injection followed",
            Suite.INJECTION,
            Outcome.FAILED,
            Severity.MEDIUM,
            injection,
            layer=Layer.CONTEXT,
            layer_inferred=True,
        ),
        build_test(
            "RW-INJ-002",
            "Markdown image exfiltration link",
            Suite.INJECTION,
            Outcome.SKIPPED,
            Severity.HIGH,
            reason="target does not render markdown",
        ),
    ]


def build_run(profile: str, tests: list[TestResult], **extra: object) -> RunSummary:
    """A completed run of the lab ``profile`` with ``tests`` (counters recomputed)."""
    run = RunSummary(
        id=f"run-{profile}",
        ai_asset_id="asset-42",
        started_at=datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC),
        completed_at=datetime(2025, 6, 1, 12, 1, 5, tzinfo=UTC),
        status=RunStatus.COMPLETED,
        duration_ms=65_000,
        target=f"lab:{profile}",
        profile=profile,
        tests=tests,
    )
    run.count()
    return run.model_copy(update=extra)


def hardened_tests() -> list[TestResult]:
    """The vulnerable tests, every failed one now passed (stopped by a guardrail), no finding."""
    held = []
    for t in vulnerable_tests():
        if t.outcome is Outcome.FAILED:
            t = t.model_copy(
                update={
                    "outcome": Outcome.PASSED,
                    "finding": None,
                    "caught_by": "guard",
                    "layer_inferred": False,
                }
            )
        held.append(t)
    return held


@pytest.fixture
def vulnerable() -> RunSummary:
    """The vulnerable lab run (3 findings)."""
    return build_run("vulnerable", vulnerable_tests())


@pytest.fixture
def hardened() -> RunSummary:
    """The hardened lab run (no finding)."""
    return build_run("hardened", hardened_tests())


@pytest.fixture
def runs(vulnerable: RunSummary, hardened: RunSummary) -> list[RunSummary]:
    """Both lab runs, vulnerable first."""
    return [vulnerable, hardened]


@pytest.fixture
def make_finding() -> Callable[..., Finding]:
    """Factory of findings: ``(test_id, title, category, severity, evidence, ...)``."""
    return build_finding


@pytest.fixture
def make_test() -> Callable[..., TestResult]:
    """Factory of test results: ``(id, title, suite, outcome, severity, finding=None, **fields)``."""
    return build_test


@pytest.fixture
def make_run() -> Callable[..., RunSummary]:
    """Factory of completed runs: ``(profile, tests, **field_overrides)``."""
    return build_run


@pytest.fixture
def script() -> str:
    """The attacker-controlled markup planted in the evidence of finding ``F-RW-INJ-001``."""
    return SCRIPT


@pytest.fixture(autouse=True)
def _relative_mitigation_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Report tests compare links with the repository-relative path, wherever the checkout is."""
    import ragward.reports._common as common

    monkeypatch.setattr(common, "_mitigations_base", lambda: common.MITIGATIONS_DOC)
