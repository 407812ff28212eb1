"""An in-memory :class:`Target` for unit tests and benchmarks (never the product).

Retrieval scores chunks by word overlap with the query; ``flaws`` switch on the
same failure kinds the reference lab documents, so engine tests can check that
each test catches its flaw without loading models. ``latency_s`` adds a fixed
delay to every call (benchmarks use 0 and 0.02).

Flaws: ``hybrid_unfiltered``, ``mmr_unfiltered``, ``shared_cache``,
``missing_tenant_unscoped``, ``filter_injection``, ``stale_delete``, ``parrot``
(the "generator" repeats its context verbatim, so it leaks every canary and
follows every plain payload), ``naive_pdf`` (a PDF is indexed with every
character a naive loader extracts, hidden text included, and a malformed one
with whatever text could be read: :func:`ragward.lab.loaders.naive_pdf_text`).
Without flaws the mock is a correct, deny-by-default pipeline that emits
guardrail events for what it refuses; a PDF goes through
``IngestScanner(block_hidden_pdf_text=True)`` and only its visible text is kept.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from ragward.errors import TargetError
from ragward.model import Action, GuardrailEvent, Layer
from ragward.targets.base import (
    Capabilities,
    Capability,
    Chunk,
    Document,
    IngestResult,
    Query,
    Response,
)

_WORD = re.compile(r"[a-z0-9]+")
ALL_FLAWS = frozenset(
    {
        "hybrid_unfiltered",
        "mmr_unfiltered",
        "shared_cache",
        "missing_tenant_unscoped",
        "filter_injection",
        "stale_delete",
        "parrot",
        "naive_pdf",
    }
)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


@dataclass
class _Doc:
    id: str
    text: str
    tenant: str
    words: set[str]


class MockTarget:
    """In-memory multi-tenant RAG target; see the module docstring."""

    def __init__(
        self,
        tenants: tuple[str, ...] = ("acme", "globex"),
        *,
        latency_s: float = 0.0,
        flaws: frozenset[str] = frozenset(),
        modes: tuple[str, ...] = ("vector", "keyword", "hybrid", "mmr"),
        capabilities: frozenset[Capability] | None = None,
        name: str = "mock",
    ) -> None:
        unknown = set(flaws) - ALL_FLAWS
        if unknown:
            raise ValueError(f"unknown mock flaw(s): {', '.join(sorted(unknown))}")
        self.name = name
        self.key = f"mock-{name}-{id(self)}"
        self.tenants = tenants
        self.latency_s = latency_s
        self.flaws = flaws
        self.modes = modes
        self._caps = capabilities if capabilities is not None else frozenset(Capability)
        self.docs: dict[str, _Doc] = {}
        self.stale: dict[str, _Doc] = {}
        self.cache: dict[tuple[str, str], str] = {}
        self.calls = 0

    def capabilities(self) -> Capabilities:
        """All capabilities unless restricted at construction."""
        return Capabilities(supported=self._caps, retrieval_modes=self.modes, tenants=self.tenants)

    async def _tick(self) -> None:
        self.calls += 1
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        else:
            await asyncio.sleep(0)

    async def ingest(self, doc: Document) -> IngestResult:
        """Store ``doc`` (replacing one with the same id); a PDF is read as the module docstring says."""
        await self._tick()
        text = doc.text
        events: list[GuardrailEvent] = []
        if doc.content is not None:
            if "naive_pdf" in self.flaws:
                from ragward.lab.loaders import naive_pdf_text

                text = naive_pdf_text(doc.content)
            else:
                from ragward.guardrails import IngestScanner

                decision = IngestScanner(block_hidden_pdf_text=True).scan(
                    doc.content, doc_id=doc.id, content_type=doc.content_type
                )
                if not decision.allowed:
                    return IngestResult(accepted=False, events=list(decision.events))
                text, events = decision.text or "", list(decision.events)
        self.docs[doc.id] = _Doc(doc.id, text, doc.tenant, _words(text))
        return IngestResult(accepted=True, events=events)

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete ``doc_id``; with ``stale_delete`` the keyword index keeps it."""
        await self._tick()
        doc = self.docs.pop(doc_id, None)
        if doc is not None and "stale_delete" in self.flaws:
            self.stale[doc_id] = doc
        if "stale_delete" not in self.flaws:
            self.cache = {k: v for k, v in self.cache.items() if doc_id not in v}

    async def document_ids(self) -> set[str]:
        """Ids of the stored documents."""
        await self._tick()
        return set(self.docs)

    def _scope(self, tenant: object) -> tuple[str | None, GuardrailEvent | None]:
        """(tenant to filter on or None for unscoped, refusal event)."""
        if tenant is None or tenant == "" or tenant == {}:
            if "missing_tenant_unscoped" in self.flaws:
                return None, None
            return "", GuardrailEvent("tenant_filter", Layer.RETRIEVAL, Action.BLOCK, "missing tenant")
        if isinstance(tenant, str) and tenant in self.tenants:
            return tenant, None
        if "filter_injection" in self.flaws and isinstance(tenant, dict):
            return None, None
        return "", GuardrailEvent("tenant_filter", Layer.RETRIEVAL, Action.BLOCK, f"invalid tenant {tenant!r}")

    def _rank(self, query: str, pool: list[_Doc], top_k: int) -> list[Chunk]:
        words = _words(query)
        scored = sorted(
            ((len(words & d.words) / (len(words | d.words) or 1), d) for d in pool),
            key=lambda item: (-item[0], item[1].id),
        )
        return [
            Chunk(id=f"{d.id}#0", doc_id=d.id, text=d.text, tenant=d.tenant, score=s)
            for s, d in scored[:top_k]
            if s > 0
        ]

    async def retrieve(self, query: Query) -> Response:
        """Rank stored chunks by word overlap, applying the tenant filter per mode and flaw."""
        await self._tick()
        if query.mode not in self.modes:
            raise TargetError(f"unknown retrieval mode {query.mode!r}")
        scope, refusal = self._scope(query.tenant)
        if refusal is not None:
            return Response(events=[refusal], blocked=True)
        docs = list(self.docs.values())
        scoped = [d for d in docs if scope is None or d.tenant == scope]
        unfiltered = (query.mode == "hybrid" and "hybrid_unfiltered" in self.flaws) or (
            query.mode == "mmr" and "mmr_unfiltered" in self.flaws
        )
        pool = docs if unfiltered else scoped
        if query.mode in ("keyword", "hybrid"):
            pool = pool + [d for d in self.stale.values() if scope is None or d.tenant == scope or unfiltered]
        return Response(contexts=self._rank(query.text, pool, query.top_k))

    async def answer(self, query: Query) -> Response:
        """Retrieve, then 'generate': the context verbatim with ``parrot``, a fixed sentence otherwise."""
        key_tenant = "*" if "shared_cache" in self.flaws else str(query.tenant)
        cached = self.cache.get((key_tenant, query.text.lower().rstrip("?. ").removesuffix(" exactly")))
        if cached is not None:
            await self._tick()
            return Response(answer=cached, cached=True, pieces=[cached] if query.stream else None)
        response = await self.retrieve(query)
        if response.blocked:
            return response
        if "parrot" in self.flaws:
            response.answer = " ".join(c.text for c in response.contexts)
        else:
            response.answer = f"I found {len(response.contexts)} relevant passage(s)."
        self.cache[(key_tenant, query.text.lower().rstrip("?. ").removesuffix(" exactly"))] = response.answer
        if query.stream:  # streamed unfiltered, in 8-character pieces (a canary spans several)
            response.pieces = [response.answer[i : i + 8] for i in range(0, len(response.answer), 8)]
        return response

    async def close(self) -> None:
        """Nothing to release."""
