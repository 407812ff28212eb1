"""Helpers shared by the report renderers: version, names, counts, ordering, links.

Everything here is pure (no I/O) and works on :class:`ragward.model.RunSummary`
objects exactly as the engine or the service produced them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ragward.model import Finding, Outcome, RunSummary, Severity, Suite, TestResult

#: Where the mitigation anchors of findings live, relative to the repository root.
MITIGATIONS_DOC = "docs/mitigations.md"


def _mitigations_base() -> str:
    """The mitigations page to link to: ``RAGWARD_DOCS_URL`` (e.g. a published docs site), else the
    ``docs/mitigations.md`` of the source checkout ragward runs from (a ``file://`` URL, so links work
    wherever the report is written), else the repository-relative path."""
    configured = os.environ.get("RAGWARD_DOCS_URL", "").strip().rstrip("/")
    if configured:
        return f"{configured}/mitigations.md"
    checkout = Path(__file__).resolve().parents[3] / MITIGATIONS_DOC
    return checkout.as_uri() if checkout.is_file() else MITIGATIONS_DOC


_ATLAS_ID = re.compile(r"^(AML\.T\d{4}(?:\.\d{3})?)\b")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def ragward_version() -> str:
    """The installed ragward version (``"0+unknown"`` when run from an uninstalled tree)."""
    try:
        return version("ragward")
    except PackageNotFoundError:
        return "0+unknown"


def profile_name(run: RunSummary) -> str:
    """The name a report gives ``run``: its lab profile, else its target, else its id."""
    return run.profile or run.target or run.id


def safe_name(text: str) -> str:
    """``text`` reduced to ``[A-Za-z0-9_-]`` (other runs become ``_``), for dotted class names.

    Returns ``"unnamed"`` for text with no such character.
    """
    return _SAFE_NAME.sub("_", text).strip("_") or "unnamed"


def findings_of(run: RunSummary) -> list[Finding]:
    """The run's findings; taken from its tests when ``run.findings`` was never filled."""
    if run.findings:
        return list(run.findings)
    return [t.finding for t in run.tests if t.finding is not None]


def by_severity(findings: list[Finding]) -> list[Finding]:
    """``findings`` sorted most severe first, then by test id and finding id (stable)."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.test_id, f.id))


@dataclass(frozen=True)
class Counts:
    """Test counts of a run or a suite: ``run`` = ``passed`` + ``failed`` + ``skipped``."""

    run: int
    passed: int
    failed: int
    skipped: int

    @classmethod
    def of_tests(cls, tests: list[TestResult]) -> Counts:
        """Counts computed from the outcomes of ``tests``."""
        return cls(
            run=len(tests),
            passed=sum(t.outcome is Outcome.PASSED for t in tests),
            failed=sum(t.outcome is Outcome.FAILED for t in tests),
            skipped=sum(t.outcome is Outcome.SKIPPED for t in tests),
        )

    @classmethod
    def of_run(cls, run: RunSummary) -> Counts:
        """Counts of ``run``: from its tests when it has any, else its contract counters.

        A summary fetched from the service may carry the counters without the tests.
        """
        if run.tests:
            return cls.of_tests(run.tests)
        return cls(run.tests_run, run.tests_passed, run.tests_failed, run.tests_skipped)


def tests_by_suite(run: RunSummary) -> list[tuple[Suite, list[TestResult]]]:
    """The run's tests grouped by suite, suites in :class:`Suite` order, empty ones left out."""
    groups: list[tuple[Suite, list[TestResult]]] = []
    for suite in Suite:
        tests = [t for t in run.tests if t.suite is suite]
        if tests:
            groups.append((suite, tests))
    return groups


def mitigation_href(mitigation: str) -> str | None:
    """The link for a finding's ``mitigation`` anchor, or ``None`` when it is not one.

    ``"mitigations.md#tenant-filter"``, ``"#tenant-filter"`` and ``"tenant-filter"``
    all become ``"docs/mitigations.md#tenant-filter"``; a path already under
    ``docs/`` and ``http(s)://`` URLs are kept; anything else with a scheme
    (``javascript:`` …) or whitespace gives ``None`` so it is shown as text only.
    """
    text = mitigation.strip()
    if not text or any(c.isspace() for c in text):
        return None
    if text.startswith(("https://", "http://", "file://", "docs/")):
        return text
    if ":" in text:
        return None
    anchor = text.split("#", 1)[1] if text.startswith("mitigations.md#") else text.lstrip("#")
    if text.startswith("mitigations.md") and "#" not in text:
        return _mitigations_base()
    return f"{_mitigations_base()}#{anchor}"


def mitigation_label(mitigation: str) -> str:
    """A readable name for a mitigation anchor.

    ``"mitigations.md#tenant-filter-every-mode"`` → ``"Tenant filter every mode"``.
    """
    anchor = mitigation.strip().rsplit("#", 1)[-1]
    words = anchor.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else mitigation


def atlas_url(ref: str) -> str | None:
    """The MITRE ATLAS page of a reference like ``"AML.T0051.001 LLM Prompt Injection: Indirect"``.

    Returns ``None`` when ``ref`` does not start with an ATLAS technique id.
    Source: MITRE ATLAS, https://atlas.mitre.org/techniques/.
    """
    match = _ATLAS_ID.match(ref.strip())
    return f"https://atlas.mitre.org/techniques/{match.group(1)}" if match else None


def format_duration(ms: int | None) -> str:
    """A duration in milliseconds as text.

    ``"850 ms"``, ``"12.4 s"``, ``"3 min 05 s"``, ``"2 h 01 min"``; ``"—"`` for ``None``.
    """
    if ms is None or ms < 0:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def severity_order() -> list[Severity]:
    """The severities, most severe first."""
    return sorted(Severity, key=lambda s: -s.rank)
