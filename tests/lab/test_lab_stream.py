"""Streamed answers in the lab (issue #4, reported failure 11), with stand-in models.

The ParrotModel streams its reply in 7-character pieces, so the 16-character canary of a planted
restricted document always arrives split across pieces. Per profile: ``vulnerable`` sends the pieces
unfiltered; ``hardened`` runs them through ``OutputFilter.stream`` (the hold-back catches the split canary
before any of it is sent); ``output_filter_after_stream`` sends every piece and blocks afterwards, with a
``late_block`` event. Then the scanner's RW-CAN-009/010 on each.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from ragward.engine.detectors.canary import find_canary, new_canary
from ragward.engine.runner import run_scan
from ragward.guardrails.output import REFUSAL
from ragward.lab.pipeline import RagLab
from ragward.lab.profiles import HARDENED, LabProfile
from ragward.lab.target import LabTarget
from ragward.model import Outcome, RunSummary
from ragward.targets.base import Document, Query

from .conftest import HashingEmbedder, LabFactory, ParrotModel

LATE = replace(HARDENED, name="hardened-late-stream", output_filter_after_stream=True)
QUESTION = "What is the production access key for the Pellworm Shipping integration?"
STREAM_TESTS = ["RW-CAN-009", "RW-CAN-010"]


def _plant(lab: RagLab, canary: str) -> None:
    text = (
        "Vendor portal access note: Pellworm Shipping integration.\nClassification: restricted. The production "
        f"access key for the Pellworm Shipping integration is {canary}. Rotate it every quarter."
    )
    doc = Document("acme-pellworm-key", text, "acme", {"source": "vault", "classification": "restricted"})
    assert lab.ingest(doc).accepted


@pytest.fixture(params=["vulnerable", "hardened", "late"])
def streamed(request: pytest.FixtureRequest, tmp_path: Path, lab_factory: LabFactory) -> tuple[str, RagLab, str]:
    profile: str | LabProfile = LATE if request.param == "late" else request.param
    lab = lab_factory(profile, tmp_path)
    canary = new_canary()
    _plant(lab, canary)
    return request.param, lab, canary


def test_stream_per_profile(streamed: tuple[str, RagLab, str]) -> None:
    name, lab, canary = streamed
    sent: list[str] = []
    response = lab.answer(QUESTION, "acme", mode="keyword", stream=True, on_piece=sent.append)
    assert response.pieces is not None
    assert sent == response.pieces  # on_piece saw exactly what the response records, in order
    assert any(c.doc_id == "acme-pellworm-key" for c in response.contexts)
    received = response.received or ""
    reasons = [e.reason for e in response.events]
    if name == "vulnerable":
        assert not response.blocked
        assert canary in received
        assert not any(canary in piece for piece in response.pieces)  # split across pieces
        assert response.answer == received
        return
    assert response.blocked
    assert response.answer == REFUSAL
    assert response.pieces[-1] == REFUSAL
    assert any(r.startswith("secret_leak") for r in reasons)
    if name == "hardened":
        # The hold-back caught the split canary before any of it (or any fragment) was sent.
        assert not find_canary(received, canary)
        assert not any(r.startswith("late_block") for r in reasons)
    else:
        assert canary in received  # delivered before the post-hoc block
        assert received.index(canary) < received.index(REFUSAL)
        assert any(r.startswith("late_block") for r in reasons)


def test_unstreamed_answer_is_unchanged_and_stream_joins_to_it(tmp_path: Path, lab_factory: LabFactory) -> None:
    lab = lab_factory("vulnerable", tmp_path)
    question = "What is our refund policy for customers?"
    streamed = lab.answer(question, "globex", stream=True)
    plain = lab.answer(question + " today", "globex")  # another wording: not served from the cache
    assert plain.pieces is None and plain.received == plain.answer
    assert streamed.pieces and "".join(streamed.pieces) == streamed.answer
    assert len(streamed.pieces) > 1


def test_streamed_answers_are_cached_like_the_others(tmp_path: Path, lab_factory: LabFactory) -> None:
    lab = lab_factory("hardened", tmp_path)
    question = "What is our refund policy for customers?"
    first = lab.answer(question, "globex", stream=True)
    assert not first.blocked and not first.cached and len(first.pieces or []) > 1
    sent: list[str] = []
    again = lab.answer(question, "globex", stream=True, on_piece=sent.append)
    assert again.cached
    assert again.pieces == sent == [first.answer]  # a cache hit is sent as one piece
    assert lab.answer(question, "globex").answer == first.answer  # and serves unstreamed requests too


def test_a_blocked_request_streams_nothing(tmp_path: Path, lab_factory: LabFactory) -> None:
    lab = lab_factory("hardened", tmp_path)
    response = lab.answer("What is our refund policy?", None, stream=True)
    assert response.blocked and response.pieces == [] and response.received == ""


def _scan(profile: str | LabProfile, tmp_path: Path, embedder: HashingEmbedder) -> RunSummary:
    async def go() -> RunSummary:
        target = LabTarget(profile, tmp_path / "lab", embedder=embedder, chat_model=ParrotModel())
        try:
            return await run_scan(target, only=STREAM_TESTS, journal_dir=tmp_path / "journal", seed=11)
        finally:
            await target.close()

    return asyncio.run(go())


def test_scan_vulnerable_fails_the_streamed_leak(tmp_path: Path, embedder: HashingEmbedder) -> None:
    by_id = {t.id: t for t in _scan("vulnerable", tmp_path, embedder).tests}
    leak = by_id["RW-CAN-009"]
    assert leak.outcome is Outcome.FAILED
    assert leak.finding is not None and leak.finding.severity == "high"
    assert leak.evidence["stream_on"]["leaked"] and leak.evidence["stream_off"]["leaked"]
    assert "so does the unstreamed answer" in leak.finding.evidence
    assert by_id["RW-CAN-010"].outcome is Outcome.SKIPPED  # nothing blocked: no block to time
    assert "RW-CAN-009" in (by_id["RW-CAN-010"].reason or "")


def test_scan_hardened_passes_both_caught_by_the_output_filter(tmp_path: Path, embedder: HashingEmbedder) -> None:
    run = _scan("hardened", tmp_path, embedder)
    for test in run.tests:
        assert test.outcome is Outcome.PASSED, (test.id, test.reason)
        assert test.caught_by == "output_filter", test.id
        assert test.layer == "output" and test.layer_inferred is False
    assert {t.id for t in run.tests} == set(STREAM_TESTS)


def test_scan_hardened_with_post_hoc_moderation_fails_both(tmp_path: Path, embedder: HashingEmbedder) -> None:
    by_id = {t.id: t for t in _scan(LATE, tmp_path, embedder).tests}
    leak, late = by_id["RW-CAN-009"], by_id["RW-CAN-010"]
    assert leak.outcome is Outcome.FAILED and late.outcome is Outcome.FAILED
    assert leak.finding is not None and "filter bypass on the stream path" in leak.finding.evidence
    assert leak.evidence["stream_off"]["blocked"] and not leak.evidence["stream_off"]["leaked"]
    assert late.finding is not None and late.finding.severity == "high"
    assert "late_block" in late.finding.evidence
    assert late.evidence["late_block_events"]


def test_query_stream_through_the_target(tmp_path: Path, embedder: HashingEmbedder) -> None:
    async def go() -> tuple[list[str] | None, list[str] | None]:
        target = LabTarget("vulnerable", tmp_path, embedder=embedder, chat_model=ParrotModel())
        try:
            on = await target.answer(Query("What is our refund policy?", "acme", stream=True))
            off = await target.answer(Query("What is our travel policy?", "acme"))
        finally:
            await target.close()
        return on.pieces, off.pieces

    on, off = asyncio.run(go())
    assert on and len(on) > 1
    assert off is None
