"""The ``junit`` report: JUnit XML for CI systems (GitLab, Jenkins, GitHub Actions reporters).

Layout (the de facto schema read by GitLab's ``artifacts:reports:junit`` and
Jenkins' JUnit plugin, itself derived from Ant's ``junitreport``)::

    <testsuites name="ragward" tests= failures= errors= skipped= time=>
      <testsuite name="ragward.<profile>.<suite>" tests= failures= errors="0" skipped=
                 time= timestamp=>
        <properties><property name="run_id" value=.../>...</properties>
        <testcase classname="ragward.<profile>.<suite>" name="<id> <title>" time=>
          <failure message="<severity> <category>: <evidence>" type="<category>">details</failure>
          | <skipped message="<reason>"/>
        </testcase>
      </testsuite>
      ...

There is one ``<testsuite>`` per (run, suite); a run that ended in an error gets
one more suite, ``ragward.<profile>.run``, with an ``<error>`` test case so CI
marks the job failed. ``time`` is in seconds. Text is stripped of characters
XML 1.0 forbids (evidence is attacker-controlled), so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import TextIO

from ragward.model import Finding, Outcome, RunSummary, Suite, TestResult
from ragward.reports._common import (
    Counts,
    mitigation_href,
    profile_name,
    safe_name,
    tests_by_suite,
)

_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MESSAGE_MAX = 300


def xml_text(text: str) -> str:
    """``text`` with every character illegal in XML 1.0 replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def _seconds(ms: int | None) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _one_line(text: str, limit: int = _MESSAGE_MAX) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _failure_details(test: TestResult, finding: Finding | None) -> str:
    lines: list[str] = []
    if finding is not None:
        lines += [
            f"Finding: {finding.id} {finding.title}",
            f"Severity: {finding.severity}",
            f"Category: {finding.category}",
            f"Evidence: {finding.evidence}",
            f"Mitigation: {mitigation_href(finding.mitigation) or finding.mitigation}",
        ]
        if finding.owasp:
            lines.append(f"OWASP: {'; '.join(finding.owasp)}")
        if finding.atlas:
            lines.append(f"MITRE ATLAS: {'; '.join(finding.atlas)}")
    else:
        lines.append(f"Severity: {test.severity}")
    if test.reason:
        lines.append(f"Reason: {test.reason}")
    if test.layer is not None:
        lines.append(f"Layer: {test.layer}{' (inferred)' if test.layer_inferred else ''}")
    return "\n".join(lines)


def _testcase(parent: ET.Element, classname: str, test: TestResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=classname,
        name=xml_text(f"{test.id} {test.title}"),
        time=_seconds(test.duration_ms),
    )
    if test.outcome is Outcome.FAILED:
        finding = test.finding
        if finding is not None:
            message = f"{finding.severity} {finding.category}: {_one_line(finding.evidence)}"
            kind = str(finding.category)
        else:
            message = f"{test.severity}: {_one_line(test.reason or 'the attack succeeded')}"
            kind = "failure"
        failure = ET.SubElement(case, "failure", message=xml_text(message), type=kind)
        failure.text = xml_text(_failure_details(test, finding))
    elif test.outcome is Outcome.SKIPPED:
        ET.SubElement(case, "skipped", message=xml_text(test.reason or "skipped"))
    elif test.caught_by or test.layer:
        out = ET.SubElement(case, "system-out")
        layer = f"{test.layer}{' (inferred)' if test.layer_inferred else ''}" if test.layer else "?"
        out.text = xml_text(f"Stopped by {test.caught_by or 'an unreported control'} at layer {layer}")


def _properties(parent: ET.Element, run: RunSummary) -> None:
    props = ET.SubElement(parent, "properties")
    values = {
        "run_id": run.id,
        "target": run.target,
        "profile": run.profile,
        "test_profile": run.test_profile,
        "status": str(run.status),
        "trigger": str(run.trigger),
        "ai_asset_id": run.ai_asset_id or "",
    }
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=xml_text(value))


def _suite(root: ET.Element, run: RunSummary, suite: Suite, tests: list[TestResult], index: int) -> None:
    classname = f"ragward.{safe_name(profile_name(run))}.{suite}"
    counts = Counts.of_tests(tests)
    element = ET.SubElement(
        root,
        "testsuite",
        name=classname,
        id=str(index),
        tests=str(counts.run),
        failures=str(counts.failed),
        errors="0",
        skipped=str(counts.skipped),
        time=_seconds(sum(t.duration_ms for t in tests)),
        timestamp=run.started_at.isoformat(timespec="seconds"),
    )
    _properties(element, run)
    for test in tests:
        _testcase(element, classname, test)


def _error_suite(root: ET.Element, run: RunSummary, error: str, index: int) -> None:
    classname = f"ragward.{safe_name(profile_name(run))}.run"
    element = ET.SubElement(
        root,
        "testsuite",
        name=classname,
        id=str(index),
        tests="1",
        failures="0",
        errors="1",
        skipped="0",
        time=_seconds(run.duration_ms),
        timestamp=run.started_at.isoformat(timespec="seconds"),
    )
    _properties(element, run)
    case = ET.SubElement(element, "testcase", classname=classname, name="scan", time="0.000")
    err = ET.SubElement(case, "error", message=xml_text(_one_line(error)), type="run_error")
    err.text = xml_text(error)


def build(runs: Sequence[RunSummary]) -> ET.Element:
    """The ``<testsuites>`` element for ``runs``, with totals summed over its suites."""
    root = ET.Element("testsuites", name="ragward")
    index = 0
    for run in runs:
        for suite, tests in tests_by_suite(run):
            _suite(root, run, suite, tests, index)
            index += 1
        if run.error:
            _error_suite(root, run, run.error, index)
            index += 1
    for total in ("tests", "failures", "errors", "skipped"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root)))
    root.set("time", f"{sum(float(s.get('time', '0')) for s in root):.3f}")
    return root


def render(runs: Sequence[RunSummary], stream: TextIO) -> None:
    """Write the JUnit XML report of ``runs`` to ``stream`` (UTF-8 declaration, indented)."""
    root = build(runs)
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")
