"""What one test observed, before attribution turns it into a :class:`TestResult`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragward.model import Layer, Severity


@dataclass
class Verdict:
    """The raw outcome of a test.

    ``failed`` true means the attack worked. ``stage`` is the furthest pipeline
    layer the attack was seen to reach (or, for a passed test, where it was seen
    to stop): it is used to infer the layer when the target reports no guardrail
    event. ``summary`` is one line for the finding; ``severity`` overrides the
    spec's severity (e.g. a canary fragment is medium). ``skip_reason`` turns the
    test into a skip (a precondition the target did not meet).
    """

    failed: bool = False
    summary: str = ""
    stage: Layer | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None
    skip_reason: str | None = None

    @classmethod
    def skip(cls, reason: str, **evidence: Any) -> Verdict:
        """A verdict that skips the test with ``reason``."""
        return cls(skip_reason=reason, evidence=dict(evidence))
