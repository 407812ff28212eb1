"""The llamaindex adapter on LlamaIndex's own VectorStoreIndex retrievers, with issue 5's failures 1 and 4."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from stores import BACKGROUND
from tgt_helpers import HashingEmbedder, failed, scan

from ragward.errors import ConfigError
from ragward.model import Severity
from ragward.targets._factory import load_factory
from ragward.targets.base import Capability, Document, Query
from ragward.targets.config import LlamaIndexTargetConfig, build_target, parse_target_config
from ragward.targets.llamaindex import LlamaIndexTarget

ROOT = Path(__file__).resolve().parents[2]
APP = f"{ROOT}/examples/targets/llamaindex_app.py"
RETRIEVAL = ["RW-CAN-001", "RW-CAN-007", "RW-ISO-001", "RW-ISO-004", "RW-ISO-005", "RW-ISO-008"]
MISSING = ["RW-ISO-011", "RW-ISO-012", "RW-ISO-013"]
TAMPER = ["RW-ISO-014", "RW-ISO-015", "RW-ISO-016", "RW-ISO-017"]


def target(embedder: HashingEmbedder, **options: Any) -> LlamaIndexTarget:
    config = parse_target_config(
        {"kind": "llamaindex", "factory": f"{APP}:build", "options": options, "tenants": ["acme", "globex"]}
    )
    assert isinstance(config, LlamaIndexTargetConfig)
    embed_model = load_factory(f"{APP}:ModelEmbedding")(embedder)
    t = LlamaIndexTarget(config, app=load_factory(f"{APP}:build")(embed_model=embed_model, **options))

    async def seed() -> None:
        for i, (tenant, text) in enumerate(BACKGROUND):
            await t.ingest(Document(f"bg-{i}", text, tenant))

    asyncio.run(seed())
    return t


def test_fixed_application_passes(embedder: HashingEmbedder, journal: Path) -> None:
    t = target(embedder)
    assert t.capabilities().retrieval_modes == ("vector", "mmr")
    assert Capability.LIST_DOCUMENTS in t.capabilities().supported
    run = scan(t, journal, only=RETRIEVAL + MISSING + TAMPER)
    assert run.error is None
    assert failed(run) == set() and run.tests_skipped == 0


def test_planting_and_deleting_round_trip(embedder: HashingEmbedder) -> None:
    t = target(embedder)

    async def go() -> tuple[set[str], list[str], set[str]]:
        await t.ingest(Document("memo-1", "Renewal memo: price 88k.", "globex"))
        before = await t.document_ids()
        hits = await t.retrieve(Query("renewal memo price", "globex", "vector", 2))
        await t.delete("memo-1", "globex")
        return before, [c.tenant or "" for c in hits.contexts], await t.document_ids()

    before, tenants, after = asyncio.run(go())
    assert "memo-1" in before and "memo-1" not in after
    assert tenants and set(tenants) == {"globex"}


def test_failure_1_filter_dropped_by_the_mmr_retriever(embedder: HashingEmbedder, journal: Path) -> None:
    run = scan(target(embedder, filter_mmr=False), journal, only=RETRIEVAL)
    assert failed(run) == {"RW-ISO-004", "RW-ISO-008"}
    assert all(f.severity is Severity.HIGH and "'mmr'" in f.evidence for f in run.findings)


def test_failure_4_missing_tenant_drops_the_filter(embedder: HashingEmbedder, journal: Path) -> None:
    run = scan(target(embedder, fail_open=True), journal, only=MISSING)
    assert failed(run) == set(MISSING)


def test_factory_must_return_llamaindex_rag(tmp_path: Path) -> None:
    bad = tmp_path / "bad_li.py"
    bad.write_text("def build():\n    return None\n")
    with pytest.raises(ConfigError, match="must return"):
        build_target(parse_target_config({"kind": "llamaindex", "factory": f"{bad}:build", "tenants": ["a"]}))
