"""The html report: escaping of hostile evidence, self-containment, content per run and suite."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html.parser import HTMLParser

from ragward.model import Outcome, RunSummary, Severity, Suite, TestResult
from ragward.reports import html_report


class _Collector(HTMLParser):
    """Tags with their attributes, and the visible text, of a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _render(runs: list[RunSummary]) -> str:
    buf = io.StringIO()
    html_report.render(runs, buf)
    return buf.getvalue()


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def test_script_in_evidence_is_escaped(vulnerable: RunSummary, script: str) -> None:
    html = _render([vulnerable])
    assert script not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert not [t for t, _ in _parse(html).tags if t == "script"]


def test_hostile_titles_reasons_and_targets_are_escaped(
    make_test: Callable[..., TestResult], make_run: Callable[..., RunSummary]
) -> None:
    test = make_test(
        "RW-X-1",
        '"><img src=x onerror=alert(1)>',
        Suite.CANARY,
        Outcome.SKIPPED,
        Severity.LOW,
        reason="<iframe src=//evil>",
        caught_by="<b>g</b>",
    )
    run = make_run("p", [test]).model_copy(update={"target": "<svg onload=alert(1)>"})
    collector = _parse(_render([run]))
    assert {"img", "iframe"}.isdisjoint(t for t, _ in collector.tags)
    assert not [a for _, attrs in collector.tags for a in attrs if a.startswith("on")]
    text = "".join(collector.text)
    for hostile in ("<svg onload=alert(1)>", "<iframe src=//evil>", "<b>g</b>", '"><img src=x'):
        assert hostile in text


def test_document_is_self_contained(runs: list[RunSummary]) -> None:
    html = _render(runs)
    tags = _parse(html).tags
    assert {"script", "link", "img", "iframe", "object", "embed"}.isdisjoint(t for t, _ in tags)
    assert not [a for t, a in tags if "src" in a]
    assert "url(" not in html
    assert "@import" not in html
    assert html.count("<style>") == 1
    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html


def test_one_section_per_run_with_header(runs: list[RunSummary]) -> None:
    html = _render(runs)
    tags = _parse(html).tags
    sections = [a["id"] for t, a in tags if t == "section"]
    assert sections == ["run-1", "run-2"]
    overview_links = [a["href"] for t, a in tags if t == "a" and a.get("href", "").startswith("#run-")]
    assert overview_links == ["#run-1", "#run-2"]
    first = html[html.index('id="run-1"') : html.index('id="run-2"')]
    for expected in ("lab:vulnerable", "vulnerable", "completed", "1 min 05 s", "run-vulnerable"):
        assert expected in first
    kpis = re.findall(r'<div class="kpi (\w+)"><div class="n">(\d+)</div>', first)
    assert kpis == [
        ("total", "7"),
        ("passed", "2"),
        ("failed", "3"),
        ("skipped", "2"),
        ("findings", "3"),
    ]


def test_single_run_has_no_overview(vulnerable: RunSummary) -> None:
    html = _render([vulnerable])
    assert "Overview" not in html
    assert [a["id"] for t, a in _parse(html).tags if t == "section"] == ["run-1"]


def test_one_chart_per_suite_with_its_counts(vulnerable: RunSummary) -> None:
    tags = _parse(_render([vulnerable])).tags
    donuts = [a["aria-label"] for t, a in tags if t == "svg" and a.get("class") == "donut"]
    assert donuts == [
        "Canary leaks: 1 passed, 1 failed, 0 skipped",
        "Tenant isolation: 1 passed, 1 failed, 1 skipped",
        "Indirect prompt injection: 0 passed, 1 failed, 1 skipped",
    ]
    arcs = [a["class"] for t, a in tags if t == "circle" and a.get("class", "").startswith("arc ")]
    canary = ["arc passed", "arc failed"]
    isolation = ["arc passed", "arc failed", "arc skipped"]
    injection = ["arc failed", "arc skipped"]
    assert arcs == [*canary, *isolation, *injection]


def test_tests_table_rows(vulnerable: RunSummary) -> None:
    html = _render([vulnerable])
    rows = re.findall(r'<tr class="row-(\w+)">\s*<td class="id mono">([^<]+)</td>', html)
    assert rows == [(str(t.outcome), t.id) for t in vulnerable.tests]
    assert "model (inferred)" in html
    assert "context (inferred)" in html
    assert "retrieval (inferred)" not in html
    assert "<code>canary-output-filter</code>" in html
    assert "target has no semantic cache" in html
    assert "status: 403" in html


def test_findings_sorted_by_severity_with_links(vulnerable: RunSummary) -> None:
    html = _render([vulnerable])
    order = [html.index(f"F-{tid} ·") for tid in ("RW-ISO-001", "RW-CAN-002", "RW-INJ-001")]
    assert order == sorted(order)
    hrefs = [a["href"] for t, a in _parse(html).tags if t == "a"]
    assert "docs/mitigations.md#tenant-filter-every-mode" in hrefs
    assert "docs/mitigations.md#spotlight-retrieved-context" in hrefs
    assert "https://atlas.mitre.org/techniques/AML.T0051.001" in hrefs
    assert "OWASP LLM01:2025 Prompt Injection" in html
    assert "answer contained canary RWC-7f3a…c91d from tenant beta" in html


def test_hardened_run_says_no_findings(hardened: RunSummary) -> None:
    html = _render([hardened])
    assert "No findings" in html
    assert 'class="card finding' not in html


def test_run_error_and_empty_report_are_shown(vulnerable: RunSummary) -> None:
    broken = vulnerable.model_copy(update={"error": "target <timed> out", "tests": [], "findings": []})
    html = _render([broken])
    assert "target &lt;timed&gt; out" in html
    assert "No test results recorded" in html
    assert "no runs" in _render([])
