"""Paragraph-aware chunking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragward.lab.chunking import chunk_id, split_text


def test_short_paragraphs_are_packed_into_one_chunk() -> None:
    chunks = split_text("doc", "First paragraph.\n\nSecond paragraph.", max_chars=100)
    assert [c.text for c in chunks] == ["First paragraph.\n\nSecond paragraph."]
    assert chunks[0].id == "doc#0"


def test_paragraphs_that_do_not_fit_start_a_new_chunk() -> None:
    a, b, c = "a" * 30 + ".", "b" * 30 + ".", "c" * 30 + "."
    chunks = split_text("d", f"{a}\n\n{b}\n\n{c}", max_chars=70)
    assert [x.text for x in chunks] == [f"{a}\n\n{b}", c]
    assert [x.id for x in chunks] == ["d#0", "d#1"]
    assert [x.index for x in chunks] == [0, 1]


def test_long_paragraph_splits_at_sentence_ends() -> None:
    text = "One two three four. Five six seven eight. Nine ten eleven twelve."
    chunks = split_text("d", text, max_chars=45)
    assert all(len(c.text) <= 45 for c in chunks)
    assert chunks[0].text.startswith("One two three four.")
    assert " ".join(c.text for c in chunks).split() == text.split()


def test_overlong_word_is_cut() -> None:
    chunks = split_text("d", "x" * 130, max_chars=50)
    assert [len(c.text) for c in chunks] == [50, 50, 30]


def test_blank_text_gives_no_chunk() -> None:
    assert split_text("d", " \n\n \t") == []


@pytest.mark.parametrize(("doc_id", "max_chars"), [("", 500), ("d", 5)])
def test_bad_arguments_raise(doc_id: str, max_chars: int) -> None:
    with pytest.raises(ValueError, match=r"doc_id|max_chars"):
        split_text(doc_id, "text", max_chars=max_chars)


def test_chunk_id_format() -> None:
    assert chunk_id("acme-refund-policy", 3) == "acme-refund-policy#3"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("abc .!?\n"), min_size=0, max_size=300), max_size=6),
    st.integers(min_value=20, max_value=200),
)
def test_chunks_respect_the_limit_and_keep_every_word(paragraphs: list[str], limit: int) -> None:
    text = "\n\n".join(paragraphs)
    chunks = split_text("d", text, max_chars=limit)
    assert all(0 < len(c.text) <= limit for c in chunks)
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(text.split())
