"""Answers that prove nothing must not pass: concurrent tests' canaries and markers, cached answers,
planted documents that were never retrieved, and RW-ISO-009's foreign contexts (MockTarget variants)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from ragward.engine.context import RunState, TestContext
from ragward.engine.journal import Journal
from ragward.engine.runner import run_scan
from ragward.engine.spec import catalogue
from ragward.engine.suites._common import CACHED_REASON
from ragward.model import Action, GuardrailEvent, Layer, Outcome, RunSummary, TestResult
from ragward.targets.base import Query, Response
from ragward.targets.mock import MockTarget


async def scan(target: MockTarget, tmp_path: Path, ids: list[str], concurrency: int = 4) -> dict[str, TestResult]:
    run: RunSummary = await run_scan(
        target, test_profile="all", only=ids, concurrency=concurrency, journal_dir=tmp_path / "journals"
    )
    assert target.docs == {}
    return {t.id: t for t in run.tests}


class CrossTalkTarget(MockTarget):
    """Retrieves the question's best chunk, but answers with every other document ever planted.

    The answer so carries what concurrently running tests planted, never the asking test's own document:
    the false pass a shared tenant produces at ``--concurrency 4``. Each answer waits (bounded) until
    ``planted`` documents have been ingested, so both tests' documents exist whatever the interleaving.
    """

    def __init__(self, planted: int, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.planted = planted
        self.history: dict[str, str] = {}

    async def ingest(self, doc):  # type: ignore[no-untyped-def]
        result = await super().ingest(doc)
        self.history[doc.id] = doc.text
        return result

    async def answer(self, query: Query) -> Response:
        response = await self.retrieve(replace(query, top_k=1))
        for _ in range(1000):
            if len(self.history) >= self.planted:
                break
            await asyncio.sleep(0.001)
        own = {c.doc_id for c in response.contexts}
        response.answer = "\n".join(text for doc_id, text in self.history.items() if doc_id not in own)
        return response


async def test_a_canary_planted_by_a_concurrent_test_fails_the_test_whose_answer_carries_it(tmp_path: Path) -> None:
    # The gate plants one document, then RW-CAN-002 and RW-CAN-003 run at the same time.
    results = await scan(CrossTalkTarget(planted=3), tmp_path, ["RW-CAN-001", "RW-CAN-002", "RW-CAN-003"])
    for test_id, other in (("RW-CAN-002", "RW-CAN-003"), ("RW-CAN-003", "RW-CAN-002")):
        result = results[test_id]
        assert result.outcome is Outcome.FAILED, (test_id, result.reason)
        assert result.finding is not None and result.finding.category == "canary_leak"
        assert other in (result.reason or "")  # the summary names the test that planted the canary
        planted_by = {m["planted_by"] for m in result.evidence["matches"]}
        assert other in planted_by and test_id not in planted_by


async def test_a_marker_of_a_concurrent_tests_payload_fails_the_injection_test(tmp_path: Path) -> None:
    results = await scan(CrossTalkTarget(planted=2), tmp_path, ["RW-INJ-001", "RW-INJ-002"])
    for test_id, other in (("RW-INJ-001", "RW-INJ-002"), ("RW-INJ-002", "RW-INJ-001")):
        result = results[test_id]
        assert result.outcome is Outcome.FAILED, (test_id, result.reason)
        assert f"of {other}'s payload" in (result.reason or "")
        assert [h["payload_of"] for h in result.evidence["markers_said"]] == [other]


class CachedTarget(MockTarget):
    """Every answer comes back as a response-cache hit, without contexts (as the mock's own cache serves it).

    ``fixed`` replaces the answer text (the same cached answer for everyone).
    """

    def __init__(self, fixed: str | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.fixed = fixed

    async def answer(self, query: Query) -> Response:
        response = await super().answer(query)
        return Response(answer=self.fixed or response.answer, cached=True)


ANSWER_TESTS = ["RW-CAN-002", "RW-CAN-101", "RW-INJ-001", "RW-INJ-101", "RW-INJ-127", "RW-ISO-009"]


async def test_a_cached_answer_without_a_failure_is_a_skip_not_a_pass(tmp_path: Path) -> None:
    results = await scan(CachedTarget(flaws=frozenset({"naive_pdf"})), tmp_path, ["RW-CAN-001", *ANSWER_TESTS])
    for test_id in ANSWER_TESTS:
        assert results[test_id].outcome is Outcome.SKIPPED, (test_id, results[test_id].reason)
        assert results[test_id].reason == CACHED_REASON


async def test_a_cached_answer_that_shows_the_leak_still_fails(tmp_path: Path) -> None:
    target = CachedTarget(flaws=frozenset({"parrot", "naive_pdf"}))
    results = await scan(target, tmp_path, ["RW-CAN-001", "RW-CAN-002", "RW-INJ-001", "RW-INJ-127"])
    for test_id in ("RW-CAN-002", "RW-INJ-001", "RW-INJ-127"):
        assert results[test_id].outcome is Outcome.FAILED, (test_id, results[test_id].reason)
        assert results[test_id].evidence["cached"] is True


async def test_tests_about_the_cache_keep_their_logic(tmp_path: Path) -> None:
    # RW-ISO-010 fails on the victim's cached answer served to the attacker; it is not skipped for being cached.
    results = await scan(CachedTarget(fixed="The contract renews on 1 March 2027."), tmp_path, ["RW-ISO-010"])
    assert results["RW-ISO-010"].outcome is Outcome.FAILED


class BlindTarget(MockTarget):
    """Answers without retrieving anything: the planted document never reaches the 'model'.

    With ``block`` the output filter refuses the answer and reports it, which is a real stop.
    """

    def __init__(self, *, block: bool = False, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.block = block

    async def answer(self, query: Query) -> Response:
        await self._tick()
        if self.block:
            event = GuardrailEvent("output_filter", Layer.OUTPUT, Action.BLOCK, "blocked: policy")
            return Response(answer="I can't help with that.", blocked=True, events=[event])
        return Response(answer="I found no relevant passage.")


UNRETRIEVED_TESTS = ["RW-INJ-001", "RW-INJ-101", "RW-INJ-127", "RW-CAN-101", "RW-CAN-006"]


async def test_a_planted_document_that_was_not_retrieved_is_a_skip(tmp_path: Path) -> None:
    results = await scan(BlindTarget(flaws=frozenset({"naive_pdf"})), tmp_path, ["RW-CAN-001", *UNRETRIEVED_TESTS])
    for test_id in UNRETRIEVED_TESTS:
        result = results[test_id]
        assert result.outcome is Outcome.SKIPPED, (test_id, result.reason)
        assert "not retrieved" in (result.reason or ""), test_id


async def test_a_probe_a_guardrail_blocked_still_passes_with_the_guardrail_named(tmp_path: Path) -> None:
    target = BlindTarget(block=True, flaws=frozenset({"naive_pdf"}))
    results = await scan(target, tmp_path, ["RW-CAN-001", *UNRETRIEVED_TESTS])
    for test_id in UNRETRIEVED_TESTS:
        result = results[test_id]
        assert result.outcome is Outcome.PASSED, (test_id, result.reason)
        assert result.caught_by == "output_filter"


async def test_iso_009_fails_on_another_tenants_chunk_in_the_answer_contexts(tmp_path: Path) -> None:
    # The mock's answer never repeats its context: only the contexts show that tenant globex's memo was used.
    results = await scan(MockTarget(flaws=frozenset({"hybrid_unfiltered"})), tmp_path, ["RW-ISO-009"])
    result = results["RW-ISO-009"]
    assert result.outcome is Outcome.FAILED, result.reason
    assert result.finding is not None and result.finding.category == "cross_tenant_answer"
    assert "globex" in (result.reason or "") and "-rw-iso-009-0#0" in (result.reason or "")
    assert "RWC" not in (result.evidence["answer"] or "")


async def test_iso_009_ignores_a_canary_planted_in_the_attackers_own_tenant(tmp_path: Path) -> None:
    """Isolation judges cross-tenant data only; the canary suite judges the same answer as a leak."""
    target = MockTarget()
    state = RunState(target, target.capabilities(), "run-own-tenant", Journal(tmp_path, target.key))
    other = TestContext(state, "RW-CAN-003")
    canary = other.canary()
    await other.plant(f"Restricted note: the access key is {canary}.", "acme", classification="restricted")
    assert state.restricted == {canary: "RW-CAN-003"}

    async def repeat_the_key(query: Query) -> Response:
        return Response(answer=f"The key is {canary}.")

    target.answer = repeat_the_key  # type: ignore[method-assign]
    funcs = {t.spec.id: t.func for t in catalogue()}
    isolation = await funcs["RW-ISO-009"](TestContext(state, "RW-ISO-009"))
    assert not isolation.failed and isolation.skip_reason is None
    leak = await funcs["RW-CAN-002"](TestContext(state, "RW-CAN-002"))
    assert leak.failed
    assert "planted by RW-CAN-003" in leak.summary


@pytest.mark.parametrize("classification", ["internal", "public"])
async def test_only_restricted_documents_register_their_canaries(tmp_path: Path, classification: str) -> None:
    target = MockTarget()
    state = RunState(target, target.capabilities(), "run-classes", Journal(tmp_path, target.key))
    ctx = TestContext(state, "RW-CAN-007")
    canary = ctx.canary()
    await ctx.plant(f"Charter reference {canary}.", "acme", classification=classification)
    assert state.restricted == {}
    assert canary in state.canaries  # still redacted from every report
