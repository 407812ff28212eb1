"""What the vector-store adapters share: tenant scoping, retrieval modes, ranking, the Target protocol.

An application built on a vector store applies its tenant filter in its own
way; the adapters reproduce that way from the target file
(:class:`~ragward.targets.config.TenantFilterConfig` and
:class:`~ragward.targets.config.ModeConfig`) and run the store's real queries:

- ``vector``: nearest neighbours by cosine similarity, filtered;
- ``threshold``: the same, keeping hits with similarity ≥ ``score_threshold``;
- ``keyword``: BM25 (Robertson and Zaragoza, 2009; ``rank_bm25.BM25Okapi``)
  over the rows the store returns for the filter;
- ``hybrid``: reciprocal rank fusion (Cormack et al., SIGIR 2009) of a vector
  leg and a BM25 leg of ``fetch_k`` candidates each, each leg filtered or not
  as configured (a keyword leg that ignores the filter is OWASP LLM08's
  cross-context leak);
- ``mmr``: maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998)
  over ``fetch_k`` prefetched candidates.

A backend (one per store) implements five synchronous primitives, run in
worker threads; a request the store rejects (an operator it does not know,
a malformed filter) raises :class:`StoreQueryError` and becomes
``Response(error=...)``, as the store's error would reach the application.
Each planted document is one chunk ``<doc_id>#0``; chunks carry the tenant
field (``tenant_key``), ``doc_id`` and the document's metadata.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray
from rank_bm25 import BM25Okapi

from ragward.errors import ConfigError, RagwardError, TargetError
from ragward.lab.keyword import tokenize
from ragward.lab.models import Embedder
from ragward.lab.ranking import maximal_marginal_relevance, reciprocal_rank_fusion
from ragward.targets._secrets import SecretStore
from ragward.targets._template import Template
from ragward.targets.base import Capabilities, Capability, Chunk, Document, IngestResult, Query, Response
from ragward.targets.config import EmbeddingConfig, ModeConfig, TenantFilterConfig, TenantIdentity

__all__ = ["MODE_ORDER", "Hit", "Row", "Scope", "StoreBackend", "StoreQueryError", "StoreTarget", "load_embedder"]

MODE_ORDER = ("vector", "keyword", "hybrid", "mmr", "threshold")
T = TypeVar("T")


class StoreQueryError(Exception):
    """The store rejected a query (for example a filter operator it does not support)."""


@dataclass(frozen=True)
class Row:
    """One stored chunk: ``tenant`` is the stored tenant field value; ``embedding`` may be ``None`` when not read."""

    id: str
    doc_id: str
    tenant: str | None
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    embedding: NDArray[np.float32] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Hit:
    """A vector-search hit: the row and its cosine similarity."""

    row: Row
    score: float


@dataclass(frozen=True)
class Scope:
    """How one request is scoped.

    ``filter`` is the rendered tenant filter in the store's language, or
    ``None`` for no filter; ``tenant`` the value the request resolved to (for
    stores whose tenancy is a session setting, e.g. PostgreSQL row-level
    security); ``unscoped`` true when the application runs the request with
    no tenant at all.
    """

    filter: Any
    tenant: object
    unscoped: bool = False

    def without_filter(self) -> Scope:
        """The same request with the filter dropped (a mode that forgets it)."""
        return Scope(None, self.tenant, self.unscoped)


class StoreBackend(Protocol):
    """The synchronous primitives of one store; called from worker threads, one call at a time."""

    def add(self, rows: Sequence[Row]) -> None:
        """Insert or replace ``rows`` (each with its embedding)."""
        ...

    def delete(self, doc_id: str, tenant: str) -> None:
        """Delete every chunk of ``doc_id`` owned by stored tenant value ``tenant``."""
        ...

    def doc_ids(self) -> set[str]:
        """Ids of every stored document."""
        ...

    def search(self, embedding: NDArray[np.float32], k: int, scope: Scope, *, with_vectors: bool) -> list[Hit]:
        """The ``k`` nearest rows to ``embedding`` within ``scope``. Raises :class:`StoreQueryError`."""
        ...

    def scan(self, scope: Scope) -> list[Row]:
        """Every row within ``scope`` (the keyword leg ranks them). Raises :class:`StoreQueryError`."""
        ...

    def close(self) -> None:
        """Release the client."""
        ...


def load_embedder(config: EmbeddingConfig) -> Embedder:
    """The embedding model named by ``config``: the lab's all-MiniLM-L6-v2 or a local sentence-transformers folder.

    Raises :class:`ConfigError` when the model cannot be found (nothing is downloaded).
    """
    from pathlib import Path

    from ragward.lab.models import SentenceEmbedder, get_embedder

    if config.model in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        return get_embedder()
    path = Path(config.model).expanduser()
    if not (path / "modules.json").is_file():
        raise ConfigError(
            f"embedding.model: {config.model!r} is neither all-MiniLM-L6-v2 nor a local sentence-transformers folder"
        )
    return SentenceEmbedder(path)


def _missing(value: object) -> bool:
    return value is None or value == "" or value == {}


class StoreTarget(ABC):
    """A vector store used the way the application uses it, as a scan target.

    Subclasses set ``kind``, build their backend in :meth:`_make_backend` and
    give the default filter template in :meth:`_default_template`.
    ``embedder`` replaces the configured model (tests). Capabilities: ingest,
    delete, list_documents, retrieve, tenants; the configured retrieval modes.
    Methods raise :class:`TargetError` when the store fails.
    """

    kind = "store"

    def __init__(self, config: Any, *, embedder: Embedder | None = None) -> None:
        """Compile the tenant filter; the store client and the model load on first use."""
        self.config = config
        self.name: str = config.label
        self.secrets = SecretStore()
        self._embedder = embedder
        self._backend: StoreBackend | None = None
        self._open_lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._identities: dict[str, TenantIdentity] = {t.name: t for t in config.tenants}
        self._names_by_value = {t.filter_value: t.name for t in config.tenants}
        tf: TenantFilterConfig = config.tenant_filter
        template = tf.template if tf.template is not None else self._default_template()
        self._filter = Template(template, ("tenant",), secrets=self.secrets, where="tenant_filter.template")
        self._modes: dict[str, ModeConfig] = config.modes
        self.key = f"{self.kind}-" + hashlib.sha256(self._fingerprint().encode("utf-8")).hexdigest()[:12]

    # ------------------------------------------------------------ subclasses

    def _default_template(self) -> Any:
        return {self.config.tenant_key: "{tenant}"}

    @abstractmethod
    def _make_backend(self, dimension: int) -> StoreBackend:
        """The store client for embeddings of ``dimension`` floats (each adapter's own)."""

    def _fingerprint(self) -> str:
        return str(self.config.label)

    # --------------------------------------------------------------- plumbing

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, key={self.key!r})"

    def capabilities(self) -> Capabilities:
        """Ingest, delete, list, retrieve and tenants (minus ``disable``); modes in a stable order."""
        supported = frozenset(
            {Capability.INGEST, Capability.DELETE, Capability.LIST_DOCUMENTS, Capability.RETRIEVE, Capability.TENANTS}
        ) - set(self.config.disable)
        return Capabilities(
            supported=supported,
            retrieval_modes=tuple(m for m in MODE_ORDER if m in self._modes),
            tenants=tuple(self._identities),
            tenant_key=self.config.tenant_key,
        )

    def embedder(self) -> Embedder:
        """The embedding model (loaded on first use)."""
        if self._embedder is None:
            self._embedder = load_embedder(self.config.embedding)
        return self._embedder

    def _open(self) -> StoreBackend:
        with self._open_lock:
            if self._backend is None:
                self._backend = self._make_backend(self.embedder().dimension)
            return self._backend

    async def _run(self, work: Callable[[StoreBackend], T]) -> T:
        def call() -> T:
            backend = self._open()
            with self._io_lock:
                return work(backend)

        try:
            return await asyncio.to_thread(call)
        except (RagwardError, StoreQueryError):
            raise
        except Exception as exc:  # the store's own failure
            raise TargetError(self.secrets.scrub(f"{self.name}: {type(exc).__name__}: {exc}")) from exc

    def _stored_tenant(self, name: str) -> str:
        ident = self._identities.get(name)
        return ident.filter_value if ident is not None else name

    def _chunk(self, row: Row, score: float) -> Chunk:
        tenant = self._names_by_value.get(row.tenant, row.tenant) if row.tenant is not None else None
        return Chunk(id=row.id, doc_id=row.doc_id, text=row.text, tenant=tenant, score=score, metadata=row.metadata)

    # ----------------------------------------------------------------- corpus

    async def ingest(self, doc: Document) -> IngestResult:
        """Embed and store ``doc`` as one chunk ``<id>#0`` owned by its tenant's stored value."""
        if not doc.id or not doc.text.strip():
            raise TargetError(f"{self.name}: a document needs an id and text")
        vectors = await asyncio.to_thread(self.embedder().embed, [doc.text])
        row = Row(
            id=f"{doc.id}#0",
            doc_id=doc.id,
            tenant=self._stored_tenant(doc.tenant),
            text=doc.text,
            metadata=dict(doc.metadata),
            embedding=np.asarray(vectors[0], dtype=np.float32),
        )
        await self._run(lambda b: b.add([row]))
        return IngestResult(accepted=True)

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete ``doc_id`` of ``tenant``."""
        stored = self._stored_tenant(tenant)
        await self._run(lambda b: b.delete(doc_id, stored))

    async def document_ids(self) -> set[str]:
        """Ids of every stored document."""
        return await self._run(lambda b: b.doc_ids())

    # -------------------------------------------------------------- retrieval

    def scope(self, tenant: object) -> Scope | Response:
        """The request's scope as the application computes it, or its refusal."""
        tf: TenantFilterConfig = self.config.tenant_filter
        value: object = tenant
        if isinstance(tenant, str) and tenant in self._identities:
            value = self._identities[tenant].filter_value
        if _missing(value):
            if tf.on_missing == "refuse":
                return Response(blocked=True, refused=True)
            if tf.on_missing == "unscoped":
                return Scope(None, None, unscoped=True)
            if tf.on_missing == "null":
                value = None
        elif tf.require_string and not isinstance(value, str):
            return Response(blocked=True, refused=True)
        return Scope(self._filter.render({"tenant": value}), value)

    def _search(self, backend: StoreBackend, query: Query, embedding: NDArray[np.float32], scope: Scope) -> list[Chunk]:
        mode = self._modes[query.mode]
        k = query.top_k
        main = scope if mode.filtered else scope.without_filter()
        if query.mode in ("vector", "threshold"):
            hits = backend.search(embedding, k, main, with_vectors=False)
            if query.mode == "threshold":
                hits = [h for h in hits if h.score >= mode.score_threshold]
            return [self._chunk(h.row, h.score) for h in hits]
        if query.mode == "keyword":
            return [self._chunk(r, s) for r, s in _bm25(query.text, backend.scan(main), k)]
        fetch_k = max(mode.fetch_k, k)
        if query.mode == "hybrid":
            dense = backend.search(embedding, fetch_k, main, with_vectors=False)
            sparse_scope = scope if mode.keyword_filtered else scope.without_filter()
            sparse = _bm25(query.text, backend.scan(sparse_scope), fetch_k)
            rows = {h.row.id: h.row for h in dense} | {r.id: r for r, _ in sparse}
            fused = reciprocal_rank_fusion([[h.row.id for h in dense], [r.id for r, _ in sparse]])
            return [self._chunk(rows[i], s) for i, s in fused[:k]]
        candidates = backend.search(embedding, fetch_k, main, with_vectors=True)
        usable = [h for h in candidates if h.row.embedding is not None]
        if not usable:
            return []
        matrix = np.stack([np.asarray(h.row.embedding, dtype=np.float32) for h in usable])
        chosen = maximal_marginal_relevance(embedding, matrix, top_k=k, lambda_mult=mode.lambda_mult)
        return [self._chunk(usable[i].row, score) for i, score in chosen]

    async def retrieve(self, query: Query) -> Response:
        """The ``top_k`` chunks for ``query`` in ``query.mode``; a refused tenant gives ``blocked``."""
        if query.mode not in self._modes:
            raise TargetError(f"{self.name}: unknown retrieval mode {query.mode!r}")
        if not query.text.strip():
            raise TargetError(f"{self.name}: empty query")
        scope = self.scope(query.tenant)
        if isinstance(scope, Response):
            return scope
        embedding = np.zeros(0, np.float32)
        if query.mode != "keyword":
            vectors = await asyncio.to_thread(self.embedder().embed, [query.text])
            embedding = np.asarray(vectors[0], dtype=np.float32)
        try:
            chunks = await self._run(lambda b: self._search(b, query, embedding, scope))
        except StoreQueryError as exc:
            return Response(error=self.secrets.scrub(f"retrieval failed: {exc}"))
        return Response(contexts=chunks)

    async def answer(self, query: Query) -> Response:
        """Not supported: a store has no generator (combine it with ``kind: openai``)."""
        raise TargetError(f"{self.name}: a {self.kind} target only retrieves; use kind: openai for answers")

    async def close(self) -> None:
        """Release the store client."""

        def shut() -> None:
            with self._open_lock:
                backend, self._backend = self._backend, None
            if backend is not None:
                backend.close()

        await asyncio.to_thread(shut)


def _bm25(query: str, rows: Sequence[Row], k: int) -> list[tuple[Row, float]]:
    """The ``k`` best rows for ``query`` by BM25, among the rows sharing at least one query term.

    (BM25Okapi's IDF is negative for a term in most documents of a small
    corpus, so the score's sign does not tell a match; the shared term does.)
    """
    terms = tokenize(query)
    if not rows or not terms:
        return []
    docs = [tokenize(r.text) or ["\x00"] for r in rows]
    wanted = set(terms)
    scores = BM25Okapi(docs).get_scores(terms)
    matching = [i for i, d in enumerate(docs) if wanted.intersection(d)]
    order = sorted(matching, key=lambda i: (-float(scores[i]), rows[i].id))
    return [(rows[i], float(scores[i])) for i in order[:k]]
