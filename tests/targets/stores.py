"""Store factories of the adapter tests: one small two-tenant corpus, per-store configs with flaws or fixes.

Each factory takes a folder (or database) and configuration overrides and
returns a ``StoreTarget`` with the hashing embedder, seeded with a small
background corpus per tenant so that ranking behaves like a real store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tgt_helpers import HashingEmbedder

from ragward.targets._store import StoreTarget
from ragward.targets.base import Document
from ragward.targets.config import parse_target_config

BACKGROUND = [
    ("acme", "Depot opening hours: the Rotterdam depot opens at six and closes at ten."),
    ("acme", "Fuel card policy: drivers refuel only at partner stations and keep the receipts."),
    ("acme", "Renewal of the forklift lease is due in spring; procurement compares three offers."),
    ("globex", "Clinic scheduling: appointments can be moved up to 24 hours before the visit."),
    ("globex", "Telehealth platform uptime target is 99.9 percent per calendar month."),
    ("globex", "Price list for the enterprise plan is reviewed every year by finance."),
]

Factory = Callable[[Path, dict[str, Any]], StoreTarget]


def base_config(kind: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": kind, "tenants": ["acme", "globex"]}
    data.update(changes)
    return data


def seed(target: StoreTarget) -> StoreTarget:
    async def go() -> None:
        for i, (tenant, text) in enumerate(BACKGROUND):
            await target.ingest(Document(f"bg-{i}", text, tenant, {"source": "seed"}))

    asyncio.run(go())
    return target


def chroma(path: Path, changes: dict[str, Any], embedder: HashingEmbedder) -> StoreTarget:
    from ragward.targets.chroma import ChromaTarget

    config = parse_target_config(base_config("chroma", path=str(path / "chroma"), **changes))
    return seed(ChromaTarget(config, embedder=embedder))  # type: ignore[arg-type]


def qdrant(path: Path, changes: dict[str, Any], embedder: HashingEmbedder) -> StoreTarget:
    from ragward.targets.qdrant import QdrantTarget

    config = parse_target_config(base_config("qdrant", path=str(path / "qdrant"), **changes))
    return seed(QdrantTarget(config, embedder=embedder))  # type: ignore[arg-type]


def lancedb(path: Path, changes: dict[str, Any], embedder: HashingEmbedder) -> StoreTarget:
    from ragward.targets.lancedb import LanceDBTarget

    config = parse_target_config(base_config("lancedb", uri=str(path / "lance"), **changes))
    return seed(LanceDBTarget(config, embedder=embedder))  # type: ignore[arg-type]
