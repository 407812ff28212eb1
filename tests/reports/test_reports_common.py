"""Shared helpers: mitigation links, ATLAS links, durations, ordering, chart geometry."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ragward.model import Category, Finding, Severity
from ragward.reports import charts
from ragward.reports._common import (
    Counts,
    atlas_url,
    by_severity,
    format_duration,
    mitigation_href,
    mitigation_label,
    safe_name,
)


@pytest.mark.parametrize(
    ("mitigation", "href"),
    [
        ("mitigations.md#tenant-filter-every-mode", "docs/mitigations.md#tenant-filter-every-mode"),
        ("#tenant-filter", "docs/mitigations.md#tenant-filter"),
        ("tenant-filter", "docs/mitigations.md#tenant-filter"),
        ("docs/mitigations.md#x", "docs/mitigations.md#x"),
        ("https://example.org/m#x", "https://example.org/m#x"),
        ("javascript:alert(1)", None),
        ("filter every mode", None),
        ("", None),
    ],
)
def test_mitigation_href(mitigation: str, href: str | None) -> None:
    assert mitigation_href(mitigation) == href


def test_mitigation_label_reads_the_anchor() -> None:
    assert mitigation_label("mitigations.md#tenant-filter-every-mode") == "Tenant filter every mode"


@pytest.mark.parametrize(
    ("ref", "url"),
    [
        (
            "AML.T0051.001 LLM Prompt Injection: Indirect",
            "https://atlas.mitre.org/techniques/AML.T0051.001",
        ),
        ("AML.T0057 LLM Data Leakage", "https://atlas.mitre.org/techniques/AML.T0057"),
        ("OWASP LLM01:2025 Prompt Injection", None),
    ],
)
def test_atlas_url(ref: str, url: str | None) -> None:
    assert atlas_url(ref) == url


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "—"),
        (850, "850 ms"),
        (12_400, "12.4 s"),
        (185_000, "3 min 05 s"),
        (7_260_000, "2 h 01 min"),
    ],
)
def test_format_duration(ms: int | None, text: str) -> None:
    assert format_duration(ms) == text


def test_safe_name() -> None:
    assert safe_name("http://host:8000/rag") == "http_host_8000_rag"
    assert safe_name("...") == "unnamed"


def test_by_severity_puts_most_severe_first(make_finding: Callable[..., Finding]) -> None:
    found = [
        make_finding(f"T-{s}", "t", Category.CANARY_LEAK, s, "e")
        for s in (Severity.LOW, Severity.CRITICAL, Severity.INFO, Severity.MEDIUM, Severity.HIGH)
    ]
    assert [f.severity for f in by_severity(found)] == [
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.LOW,
        Severity.INFO,
    ]


def test_segments_share_the_circle() -> None:
    segs = charts.segments(Counts(run=8, passed=5, failed=2, skipped=1))
    assert [s.outcome for s in segs] == ["passed", "failed", "skipped"]
    assert sum(s.percent for s in segs) == pytest.approx(100.0)
    assert segs[1].start == pytest.approx(62.5)
    assert segs[1].dasharray == "25.000 75.000"
    assert segs[1].dashoffset == "-37.500"


def test_segments_leave_out_empty_outcomes_and_empty_runs() -> None:
    assert [s.outcome for s in charts.segments(Counts(3, 0, 3, 0))] == ["failed"]
    assert charts.segments(Counts(0, 0, 0, 0)) == []


def test_pass_rate_ignores_skipped() -> None:
    assert charts.pass_rate(Counts(run=5, passed=3, failed=1, skipped=1)) == 75
    assert charts.pass_rate(Counts(run=2, passed=0, failed=0, skipped=2)) is None
