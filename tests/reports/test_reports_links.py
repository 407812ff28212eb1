"""Mitigation links work wherever the report file is written."""

from __future__ import annotations

from pathlib import Path

import pytest

import ragward.reports._common as common

_ORIGINAL = common._mitigations_base


@pytest.fixture(autouse=True)
def _real_base(monkeypatch: pytest.MonkeyPatch, _relative_mitigation_links: None) -> None:
    monkeypatch.setattr(common, "_mitigations_base", _ORIGINAL)


def test_links_point_at_the_checkout_docs_as_a_file_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGWARD_DOCS_URL", raising=False)
    base = _ORIGINAL()
    assert base.startswith("file://")
    assert base.endswith("/docs/mitigations.md")
    assert Path(base.removeprefix("file://")).is_file()


def test_a_configured_docs_site_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGWARD_DOCS_URL", "https://docs.example/ragward/")
    assert _ORIGINAL() == "https://docs.example/ragward/mitigations.md"
