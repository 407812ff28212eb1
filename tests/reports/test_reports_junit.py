"""The junit report: structure CI systems read, counts, failure and skip details, hostile text."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable

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
from ragward.reports import junit


def _parse(runs: list[RunSummary]) -> ET.Element:
    buf = io.StringIO()
    junit.render(runs, buf)
    text = buf.getvalue()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def _suite(root: ET.Element, name: str) -> ET.Element:
    matches = [s for s in root.iter("testsuite") if s.get("name") == name]
    assert len(matches) == 1, name
    return matches[0]


def test_one_testsuite_per_run_and_suite(runs: list[RunSummary]) -> None:
    root = _parse(runs)
    assert root.tag == "testsuites"
    names = [s.get("name") for s in root.findall("testsuite")]
    assert names == [
        f"ragward.{p}.{s}" for p in ("vulnerable", "hardened") for s in ("canary", "isolation", "injection")
    ]


def test_suite_counts_match_the_tests(runs: list[RunSummary]) -> None:
    root = _parse(runs)
    for run in runs:
        for suite in Suite:
            tests = [t for t in run.tests if t.suite is suite]
            element = _suite(root, f"ragward.{run.profile}.{suite}")
            cases = element.findall("testcase")
            assert int(element.get("tests", "-1")) == len(cases) == len(tests)
            assert int(element.get("failures", "-1")) == sum(t.outcome is Outcome.FAILED for t in tests)
            assert int(element.get("skipped", "-1")) == sum(t.outcome is Outcome.SKIPPED for t in tests)
            assert element.get("errors") == "0"
            assert len([c for c in cases if c.find("failure") is not None]) == int(element.get("failures", "-1"))
    totals = {k: int(root.get(k, "-1")) for k in ("tests", "failures", "skipped", "errors")}
    assert totals == {"tests": 14, "failures": 3, "skipped": 4, "errors": 0}


def test_testcase_names_and_classnames(vulnerable: RunSummary) -> None:
    root = _parse([vulnerable])
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {f"{t.id} {t.title}" for t in vulnerable.tests}
    case = cases["RW-ISO-001 Cross-tenant retrieval in hybrid mode"]
    assert case.get("classname") == "ragward.vulnerable.isolation"
    assert case.get("time") == "1.250"


def test_failure_carries_severity_category_and_evidence(vulnerable: RunSummary) -> None:
    root = _parse([vulnerable])
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("RW-ISO-001"))
    failure = case.find("failure")
    assert failure is not None
    message = failure.get("message", "")
    assert message.startswith("critical cross_tenant_retrieval: ")
    assert "tenant alpha retrieved doc beta-0007" in message
    assert failure.get("type") == "cross_tenant_retrieval"
    body = failure.text or ""
    assert "Mitigation: docs/mitigations.md#tenant-filter-every-mode" in body
    assert "OWASP LLM08:2025" in body
    assert "AML.T0057" in body
    assert "Layer: retrieval" in body


def test_skipped_carries_the_reason(vulnerable: RunSummary) -> None:
    root = _parse([vulnerable])
    case = next(c for c in root.iter("testcase") if c.get("name", "").startswith("RW-ISO-003"))
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "target has no semantic cache"


def test_markup_in_evidence_survives_as_text(vulnerable: RunSummary, script: str) -> None:
    buf = io.StringIO()
    junit.render([vulnerable], buf)
    assert script not in buf.getvalue()
    root = ET.fromstring(buf.getvalue().encode())
    failure = next(c for c in root.iter("testcase") if c.get("name", "").startswith("RW-INJ-001")).find("failure")
    assert failure is not None
    assert script in (failure.text or "")
    assert script in failure.get("message", "")


def test_characters_illegal_in_xml_are_replaced(
    make_finding: Callable[..., Finding],
    make_test: Callable[..., TestResult],
    make_run: Callable[..., RunSummary],
) -> None:
    finding = make_finding("RW-X-1", "x", Category.CANARY_LEAK, Severity.LOW, "bell\x07 nul\x00 esc\x1b end")
    run = make_run(
        "p",
        [make_test("RW-X-1", "ctl\x0b title", Suite.CANARY, Outcome.FAILED, Severity.LOW, finding)],
    )
    root = _parse([run])
    case = next(root.iter("testcase"))
    assert case.get("name") == "RW-X-1 ctl\ufffd title"
    failure = case.find("failure")
    assert failure is not None
    assert "bell\ufffd nul\ufffd esc\ufffd end" in (failure.text or "")


def test_run_error_becomes_an_error_testcase(vulnerable: RunSummary) -> None:
    broken = vulnerable.model_copy(update={"status": RunStatus.FAILED, "error": "target timed out"})
    root = _parse([broken])
    element = _suite(root, "ragward.vulnerable.run")
    error = element.find("testcase/error")
    assert error is not None
    assert error.get("message") == "target timed out"
    assert root.get("errors") == "1"


def test_profile_falls_back_to_a_safe_target_name(vulnerable: RunSummary) -> None:
    anonymous = vulnerable.model_copy(update={"profile": "", "target": "http://rag.local:8000"})
    root = _parse([anonymous])
    assert {c.get("classname") for c in root.iter("testcase")} == {
        f"ragward.http_rag_local_8000.{s}" for s in ("canary", "isolation", "injection")
    }


def test_properties_name_the_run(vulnerable: RunSummary) -> None:
    root = _parse([vulnerable])
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties") or []}
    assert props["run_id"] == "run-vulnerable"
    assert props["target"] == "lab:vulnerable"
    assert props["status"] == "completed"


def test_no_runs_gives_an_empty_document() -> None:
    root = _parse([])
    assert root.findall("testsuite") == []
    assert root.get("tests") == "0"
