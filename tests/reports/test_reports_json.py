"""The json report: round trip, version, profiles, stable output."""

from __future__ import annotations

import io
import json
from importlib.metadata import version

from ragward.model import RunSummary
from ragward.reports import json_report


def _render(runs: list[RunSummary]) -> str:
    buf = io.StringIO()
    json_report.render(runs, buf)
    return buf.getvalue()


def test_round_trip(runs: list[RunSummary]) -> None:
    doc = json.loads(_render(runs))
    loaded = [RunSummary.model_validate(r) for r in doc["runs"]]
    assert loaded == runs


def test_document_names_version_and_profiles(runs: list[RunSummary]) -> None:
    doc = json.loads(_render(runs))
    assert list(doc) == ["ragward_version", "runs"]
    assert doc["ragward_version"] == version("ragward")
    assert [r["profile"] for r in doc["runs"]] == ["vulnerable", "hardened"]
    vulnerable = doc["runs"][0]
    assert (vulnerable["tests_run"], vulnerable["tests_passed"]) == (7, 2)
    assert (vulnerable["tests_failed"], vulnerable["tests_skipped"]) == (3, 2)
    assert {f["test_id"] for f in vulnerable["findings"]} == {
        "RW-CAN-002",
        "RW-ISO-001",
        "RW-INJ-001",
    }


def test_key_order_is_the_model_field_order_and_output_is_stable(runs: list[RunSummary]) -> None:
    first = _render(runs)
    assert first == _render(runs)
    doc = json.loads(first)
    assert list(doc["runs"][0]) == list(RunSummary.model_fields)
    assert first.endswith("}\n")


def test_evidence_is_kept_verbatim(vulnerable: RunSummary) -> None:
    doc = json.loads(_render([vulnerable]))
    evidence = {f["test_id"]: f["evidence"] for f in doc["runs"][0]["findings"]}
    assert evidence["RW-INJ-001"].endswith("<script>alert('pwned')</script>")
