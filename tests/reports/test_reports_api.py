"""The reports package API: FORMATS, render dispatch, write_report, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ragward.errors import ConfigError
from ragward.model import RunSummary
from ragward.reports import FORMATS, render, write_report


def test_formats() -> None:
    assert sorted(FORMATS) == ["html", "json", "junit", "sarif"]


def test_unknown_format_is_a_config_error(runs: list[RunSummary]) -> None:
    with pytest.raises(ConfigError, match=r"unknown report format 'pdf'.*html, json, junit, sarif"):
        render("pdf", runs, io.StringIO())


def test_format_names_ignore_case(runs: list[RunSummary]) -> None:
    upper, lower = io.StringIO(), io.StringIO()
    render(" JSON ", runs, upper)
    render("json", runs, lower)
    assert upper.getvalue() == lower.getvalue()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_through_the_dispatcher(fmt: str, runs: list[RunSummary]) -> None:
    direct, dispatched = io.StringIO(), io.StringIO()
    FORMATS[fmt](runs, direct)
    render(fmt, runs, dispatched)
    assert dispatched.getvalue() == direct.getvalue()
    assert "RW-ISO-001" in dispatched.getvalue()


def test_a_single_run_instead_of_a_sequence_is_a_clear_error(vulnerable: RunSummary) -> None:
    with pytest.raises(TypeError, match="not a single RunSummary"):
        render("json", vulnerable, io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"runs\[1\] is a dict"):
        render("json", [vulnerable, {}], io.StringIO())  # type: ignore[list-item]


def test_write_report_creates_the_file(tmp_path: Path, runs: list[RunSummary]) -> None:
    path = write_report("json", runs, tmp_path / "out" / "scan.json")
    assert path == tmp_path / "out" / "scan.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert [r["id"] for r in doc["runs"]] == ["run-vulnerable", "run-hardened"]


def test_write_report_to_an_unwritable_path_is_a_config_error(tmp_path: Path, runs: list[RunSummary]) -> None:
    with pytest.raises(ConfigError, match="cannot write the html report"):
        write_report("html", runs, tmp_path)  # a directory


def test_write_report_with_unknown_format_writes_nothing(tmp_path: Path, runs: list[RunSummary]) -> None:
    target = tmp_path / "r.txt"
    with pytest.raises(ConfigError):
        write_report("txt", runs, target)
    assert not target.exists()
