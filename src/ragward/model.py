"""Pure domain types shared by the engine, the CLI, the reports and the service.

Nothing here does I/O. Every type serialises to JSON through pydantic, and the
field names of :class:`RunSummary` follow the service contract
(``shared/spec/rag-runs-api.txt``): ``id``, ``ai_asset_id``, ``trigger``,
``started_at``, ``completed_at``, ``status``, ``tests_run``, ``tests_passed``,
``tests_failed``, ``tests_skipped``, ``duration_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Outcome(StrEnum):
    """What happened to one test."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Severity(StrEnum):
    """Severity of a finding, highest first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical, so severities compare numerically."""
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is ``other`` or more severe."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Suite(StrEnum):
    """The three test families."""

    CANARY = "canary"
    ISOLATION = "isolation"
    INJECTION = "injection"


class Layer(StrEnum):
    """The pipeline layer where an attack was stopped (or got through)."""

    INGEST = "ingest"
    RETRIEVAL = "retrieval"
    CONTEXT = "context"
    MODEL = "model"
    OUTPUT = "output"


class Action(StrEnum):
    """What a guardrail did."""

    ALLOW = "allow"
    FLAG = "flag"
    REDACT = "redact"
    BLOCK = "block"


@dataclass(frozen=True)
class GuardrailEvent:
    """One decision by one guardrail.

    ``span`` is a (start, end) character range into the text the guardrail
    looked at, when it can point at one; ``score`` is in [0, 1].
    """

    guardrail: str
    layer: Layer
    action: Action
    reason: str
    score: float = 1.0
    span: tuple[int, int] | None = None
    doc_id: str | None = None

    @property
    def stopped(self) -> bool:
        """True for actions that stopped or changed the content (block, redact)."""
        return self.action in (Action.BLOCK, Action.REDACT)


class RunStatus(StrEnum):
    """Status of a run, as in the service contract."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Trigger(StrEnum):
    """What started a run, as in the service contract."""

    SCHEDULED = "scheduled"
    MANUAL = "manual"


class Category(StrEnum):
    """Leak category of a finding."""

    CANARY_LEAK = "canary_leak"
    CROSS_TENANT_RETRIEVAL = "cross_tenant_retrieval"
    CROSS_TENANT_ANSWER = "cross_tenant_answer"
    CROSS_TENANT_CACHE = "cross_tenant_cache"
    MISSING_TENANT_FAIL_OPEN = "missing_tenant_fail_open"
    FILTER_TAMPERING = "filter_tampering"
    POISONED_ANSWER = "poisoned_answer"
    STALE_DELETION = "stale_deletion"
    PROMPT_INJECTION_FOLLOWED = "prompt_injection_followed"
    EXFILTRATION_LINK = "exfiltration_link"


class Finding(BaseModel):
    """A failed test, as a security finding.

    ``evidence`` is a redacted excerpt: canary tokens are shown with their middle
    masked so a report never republishes a full secret.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    test_id: str
    title: str
    category: Category
    severity: Severity
    mitigation: str
    owasp: list[str]
    atlas: list[str]
    evidence: str


class TestResult(BaseModel):
    """The result of one test case.

    ``caught_by`` names the guardrail that stopped the attack (``None`` when none
    reported one); ``layer`` is where it was stopped or, for a failed test, where
    it got through; ``layer_inferred`` is true when the target reported no
    guardrail event and the layer was inferred from what was observed.
    """

    __test__ = False  # not a pytest class

    id: str
    title: str
    suite: Suite
    outcome: Outcome
    severity: Severity
    caught_by: str | None = None
    layer: Layer | None = None
    layer_inferred: bool = False
    reason: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    finding: Finding | None = None
    duration_ms: int = 0


class RunSummary(BaseModel):
    """One scan: the contract's run fields plus the tests and findings."""

    id: str
    ai_asset_id: str | None = None
    trigger: Trigger = Trigger.MANUAL
    started_at: datetime
    completed_at: datetime | None = None
    status: RunStatus = RunStatus.RUNNING
    tests_run: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    tests_skipped: int = 0
    duration_ms: int | None = None
    target: str = ""
    profile: str = ""
    test_profile: str = "default"
    error: str | None = None
    tests: list[TestResult] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)

    def count(self) -> None:
        """Recompute the contract's counters from ``tests``."""
        self.tests_run = len(self.tests)
        self.tests_passed = sum(t.outcome is Outcome.PASSED for t in self.tests)
        self.tests_failed = sum(t.outcome is Outcome.FAILED for t in self.tests)
        self.tests_skipped = sum(t.outcome is Outcome.SKIPPED for t in self.tests)
        self.findings = [t.finding for t in self.tests if t.finding is not None]

    def worst_severity(self) -> Severity | None:
        """The highest severity among the findings, or ``None`` without findings."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)
