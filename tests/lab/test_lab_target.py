"""LabTarget: the lab through the scan Target protocol (stand-in models)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ragward.errors import ConfigError, TargetError
from ragward.lab.models import Embedder
from ragward.lab.target import LabTarget
from ragward.targets.base import Capability, Document, Query, Target


@pytest.fixture
async def target(tmp_path: Path, embedder: Embedder) -> AsyncIterator[LabTarget]:
    t = LabTarget("vulnerable", tmp_path, embedder=embedder, chat_model=_Echo())
    yield t
    await t.close()


class _Echo:
    """A chat model answering with a fixed sentence."""

    n_ctx = 2048

    def chat(self, messages: object, *, max_tokens: int) -> str:
        return "The answer."

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


def test_name_key_and_capabilities(tmp_path: Path) -> None:
    a = LabTarget("hardened", tmp_path)
    b = LabTarget("hardened", tmp_path / "." / "")
    c = LabTarget("vulnerable", tmp_path)
    d = LabTarget("hardened", tmp_path / "other")
    assert isinstance(a, Target)
    assert a.name == "lab:hardened"
    assert a.key == b.key
    assert a.key.startswith("lab-hardened-")
    assert len(a.key) == len("lab-hardened-") + 12
    assert len({a.key, c.key, d.key}) == 3
    caps = a.capabilities()
    assert caps.supported == frozenset(Capability)
    assert caps.retrieval_modes == ("vector", "keyword", "hybrid", "mmr")
    assert caps.tenants == ("acme", "globex", "initech")


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        LabTarget("nope", tmp_path)


async def test_protocol_round_trip(target: LabTarget) -> None:
    before = await target.corpus_state()
    doc = Document("acme-planted", "The fernpiano code is on the depot board.", "acme")
    result = await target.ingest(doc)
    assert result.accepted
    assert "acme-planted" in await target.document_ids()

    retrieved = await target.retrieve(Query("fernpiano code", "acme", mode="keyword", top_k=2))
    assert retrieved.answer is None
    assert [c.doc_id for c in retrieved.contexts][:1] == ["acme-planted"]
    assert retrieved.contexts[0].tenant == "acme"

    answered = await target.answer(Query("fernpiano code", "acme", mode="hybrid"))
    assert answered.answer == "The answer."
    assert not answered.cached
    again = await target.answer(Query("fernpiano code", "acme", mode="hybrid"))
    assert again.cached

    await target.delete("acme-planted", "acme")
    assert "acme-planted" not in await target.document_ids()
    assert await target.corpus_state() == before


async def test_concurrent_requests_keep_their_own_scope(target: LabTarget) -> None:
    queries = [
        Query("refund policy", tenant, mode=mode)
        for tenant in ("acme", "globex", "initech")
        for mode in ("vector", "keyword")
        for _ in range(3)
    ]
    responses = await asyncio.gather(*(target.retrieve(q) for q in queries))
    for query, response in zip(queries, responses, strict=True):
        assert response.contexts
        assert {c.tenant for c in response.contexts} == {query.tenant}


async def test_bad_requests_are_target_errors(target: LabTarget) -> None:
    with pytest.raises(TargetError, match="unknown retrieval mode"):
        await target.retrieve(Query("refund", "acme", mode="semantic"))
    with pytest.raises(TargetError, match="top_k"):
        await target.answer(Query("refund", "acme", top_k=0))


async def test_closed_target_refuses_calls(target: LabTarget) -> None:
    await target.document_ids()
    await target.close()
    with pytest.raises(TargetError, match="closed"):
        await target.document_ids()
