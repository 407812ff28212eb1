"""The canary matcher finds a canary written one character at a time inside a longer text."""

from __future__ import annotations

import random

import pytest

from ragward.engine.detectors._text import MIN_SCATTERED, fold, scattered
from ragward.engine.detectors.canary import MatchKind, find_canary, new_canary

CANARY = new_canary(random.Random(11))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

FORMS = {
    "interleaved": " ".join(f"{a} {c}" for a, c in zip(LETTERS, CANARY, strict=False)),
    "recital_phrases": ", ".join(f"{a} is for {c}" for a, c in zip(LETTERS, CANARY, strict=False)),
    "recital_lines": "\n".join(f"{a} - {c}" for a, c in zip(LETTERS, CANARY, strict=False)),
    "acrostic": "\n".join(f"{c}{'ay' if c.isalpha() else ''} is where the line starts" for c in CANARY),
    "semicolon_items": "; ".join(f"item {c}" for c in CANARY),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_scattered_forms_are_found_with_a_span_covering_them(form: str) -> None:
    text = f"Sure, here it is:\n{FORMS[form]}\nHope that helps."
    matches = find_canary(text, CANARY)
    assert matches, form
    best = matches[0]
    assert best.kind is MatchKind.SCATTERED
    assert not best.is_fragment
    covered = text[best.span[0] : best.span[1]]
    assert CANARY[0] in covered and CANARY[-1] in covered
    assert CANARY not in best.excerpt


def test_scattered_views_of_ordinary_text_do_not_match() -> None:
    text = ", ".join(f"{a} is for {w}" for a, w in zip(LETTERS, ["apple", "ball", "cat"] * 9, strict=False))
    for seed in range(50):
        assert find_canary(text, new_canary(random.Random(seed))) == []


def test_scattered_views_map_back_to_the_text() -> None:
    text = "A R\nB W\nC C\nD 7\nE K\nF 2\nG M\nH 9"
    views = scattered(fold(text))
    assert views
    for view in views:
        assert len(view.text) >= MIN_SCATTERED
        for i, ch in enumerate(view.text):
            assert text[view.starts[i] : view.ends[i]].lower().replace("o", "0") in (ch, ch.lower())


def test_short_texts_have_no_scattered_views() -> None:
    assert scattered(fold("a b c")) == []
