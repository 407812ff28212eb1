"""Redaction of secrets in evidence."""

from __future__ import annotations

import pytest

from ragward.engine.detectors.redact import mask, redact


def test_every_occurrence_any_case_is_masked() -> None:
    text = "code RWC7K2M9Q4X8T1B6 and rwc7k2m9q4x8t1b6!"
    out = redact(text, ["RWC7K2M9Q4X8T1B6"])
    assert out == "code RWC7…B6 and rwc7…b6!"


def test_longest_secret_first_and_literal_matching() -> None:
    out = redact("key sk-abc.def123456 and a.b", ["sk-abc.def123456", "abc.def1", "a.b"])
    assert out == "key sk-a…56 and …"
    assert redact("aXb", ["a.b"]) == "aXb"


def test_short_values_are_fully_masked() -> None:
    assert mask("abc") == "…"
    assert mask("abcdefgh") == "abcd…gh"


def test_nothing_to_redact() -> None:
    assert redact("plain", []) == "plain"
    assert redact("plain", [""]) == "plain"


def test_bad_input() -> None:
    with pytest.raises(TypeError):
        redact(None, ["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        redact("x", "secret")
    with pytest.raises(TypeError):
        redact("x", [1])  # type: ignore[list-item]
