"""The ``html`` report: one self-contained HTML file to share with a team.

Rendered with Jinja2 from the package template ``templates/report.html.j2`` with
autoescaping on: evidence, titles and reasons come from the target under test and
are attacker-controlled (indirect prompt injection payloads, OWASP LLM01), so
every value is HTML-escaped and a Content-Security-Policy forbids scripts and
external loads as a second line of defence. No external CSS, JavaScript, fonts
or images: styles are inline and charts are inline SVG (:mod:`ragward.reports.charts`).

Per run (several runs, e.g. ``vulnerable`` and ``hardened``, share one file): a
header (target, profile, status, duration, counts), per suite a donut chart and
the table of tests, then the findings most severe first with their mitigation
link, OWASP / MITRE ATLAS references and redacted evidence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TextIO

import jinja2

from ragward.model import Finding, RunSummary, Severity, Suite, TestResult
from ragward.reports import charts
from ragward.reports._common import (
    Counts,
    atlas_url,
    by_severity,
    findings_of,
    format_duration,
    mitigation_href,
    mitigation_label,
    profile_name,
    ragward_version,
    severity_order,
    tests_by_suite,
)

TEMPLATE = "report.html.j2"
_SUMMARY_MAX = 180

SUITE_TITLES = {
    Suite.CANARY: "Canary leaks",
    Suite.ISOLATION: "Tenant isolation",
    Suite.INJECTION: "Indirect prompt injection",
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment: package templates, autoescape on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ragward.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _timestamp(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _shorten(text: str, limit: int = _SUMMARY_MAX) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def evidence_summary(test: TestResult) -> str:
    """One line of evidence for the tests table (full text goes in the cell's tooltip).

    The finding's redacted evidence when there is one, else the reason (skip
    reason, or why the test passed), else ``key: value`` pairs of ``test.evidence``.
    """
    if test.finding is not None:
        return test.finding.evidence
    if test.reason:
        return test.reason
    return "; ".join(f"{k}: {_value_text(v)}" for k, v in test.evidence.items())


@dataclass(frozen=True)
class TestRow:
    """One line of a suite's tests table."""

    __test__ = False

    test: TestResult
    layer: str
    evidence: str
    evidence_short: str


@dataclass(frozen=True)
class SuiteView:
    """One suite of a run: counts, chart segments and tests."""

    suite: Suite
    title: str
    counts: Counts
    segments: list[charts.Segment]
    pass_rate: int | None
    rows: list[TestRow]


@dataclass(frozen=True)
class FindingView:
    """One finding with its links resolved."""

    finding: Finding
    mitigation_href: str | None
    mitigation_label: str
    atlas: list[tuple[str, str | None]]


@dataclass(frozen=True)
class RunView:
    """Everything the template shows for one run."""

    anchor: str
    name: str
    run: RunSummary
    counts: Counts
    segments: list[charts.Segment]
    pass_rate: int | None
    duration: str
    started: str
    completed: str
    worst: Severity | None
    severity_counts: list[tuple[Severity, int]]
    suites: list[SuiteView]
    findings: list[FindingView]


def _row(test: TestResult) -> TestRow:
    layer = ""
    if test.layer is not None:
        layer = f"{test.layer} (inferred)" if test.layer_inferred else str(test.layer)
    evidence = evidence_summary(test)
    return TestRow(test, layer, evidence, _shorten(evidence))


def _finding_view(finding: Finding) -> FindingView:
    return FindingView(
        finding=finding,
        mitigation_href=mitigation_href(finding.mitigation),
        mitigation_label=mitigation_label(finding.mitigation),
        atlas=[(ref, atlas_url(ref)) for ref in finding.atlas],
    )


def run_view(run: RunSummary, index: int) -> RunView:
    """The view model of ``run``, the ``index``-th run of the report (anchors ``run-<index>``)."""
    counts = Counts.of_run(run)
    findings = by_severity(findings_of(run))
    suites = [
        SuiteView(
            suite=suite,
            title=SUITE_TITLES.get(suite, str(suite).title()),
            counts=Counts.of_tests(tests),
            segments=charts.segments(Counts.of_tests(tests)),
            pass_rate=charts.pass_rate(Counts.of_tests(tests)),
            rows=[_row(t) for t in tests],
        )
        for suite, tests in tests_by_suite(run)
    ]
    return RunView(
        anchor=f"run-{index}",
        name=profile_name(run),
        run=run,
        counts=counts,
        segments=charts.segments(counts),
        pass_rate=charts.pass_rate(counts),
        duration=format_duration(run.duration_ms),
        started=_timestamp(run.started_at),
        completed=_timestamp(run.completed_at),
        worst=findings[0].severity if findings else None,
        severity_counts=[(sev, n) for sev in severity_order() if (n := sum(f.severity is sev for f in findings))],
        suites=suites,
        findings=[_finding_view(f) for f in findings],
    )


def render(runs: Sequence[RunSummary], stream: TextIO) -> None:
    """Write the HTML report of ``runs`` to ``stream``: one document, no external resources."""
    template = environment().get_template(TEMPLATE)
    stream.write(
        template.render(
            runs=[run_view(run, i) for i, run in enumerate(runs, start=1)],
            version=ragward_version(),
            radius=charts.DONUT_RADIUS,
            severities=severity_order(),
        )
    )
