"""``RagLab``: the reference multi-tenant RAG pipeline that ragward scans by default.

One lab is one Chroma collection (``ragward-lab-<profile>``) under
``data_dir/chroma``, a BM25 index rebuilt from it at open, a semantic response
cache, and the shared SmolLM2 generator. On first open the collection is seeded
with the built-in sample corpus (three fictional tenants; see
:mod:`ragward.lab.corpus`). What the lab does wrong or right is set by its
:class:`~ragward.lab.profiles.LabProfile`: ``vulnerable`` reproduces nine named,
real-world flaws (docs/lab.md), ``hardened`` runs the guardrails of
:mod:`ragward.guardrails` at every layer (OWASP LLM01, LLM02, LLM08).

Every method is thread safe: store, index and cache access is serialised by
the lab's lock, model calls by each model's own lock. Retrieval and answer
requests take the tenant as ``object`` on purpose: the isolation suite sends
``None``, ``""`` and filter-operator values such as ``{"$ne": ""}``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ragward.guardrails import ContextSanitiser, IngestScanner, OutputFilter, TenantFilter
from ragward.lab.cache import SemanticCache
from ragward.lab.chunking import DEFAULT_MAX_CHARS, split_text
from ragward.lab.corpus import (
    CLASSIFICATIONS,
    Tenant,
    document_sha256,
    sample_documents,
    sample_tenants,
)
from ragward.lab.filters import FilterError
from ragward.lab.generator import Generator, Passage, render_plain
from ragward.lab.keyword import IndexedChunk, KeywordIndex
from ragward.lab.loaders import naive_pdf_text
from ragward.lab.models import ChatModel, Embedder, get_chat_model, get_embedder
from ragward.lab.profiles import LabProfile, get_profile
from ragward.lab.ranking import maximal_marginal_relevance, reciprocal_rank_fusion
from ragward.lab.store import ChromaStore, StoredChunk, StoreFilterError
from ragward.model import Action, GuardrailEvent, Layer
from ragward.targets.base import Chunk, Document, IngestResult, Response

__all__ = ["FETCH_K", "MAX_QUERY_CHARS", "MAX_TOP_K", "MMR_LAMBDA", "MODES", "PDF_TYPES", "RagLab"]

MODES: tuple[str, ...] = ("vector", "keyword", "hybrid", "mmr")
#: Candidates MMR fetches before selecting ``top_k`` (LangChain's default ``fetch_k``).
FETCH_K = 20
MMR_LAMBDA = 0.5
MAX_TOP_K = 50
MAX_QUERY_CHARS = 4000
_UNSCOPED = "*"  # cache scope of requests that run with no tenant filter
#: Content types of the files the lab accepts (``Document.content``).
PDF_TYPES: tuple[str, ...] = ("application/pdf", "application/x-pdf")


@dataclass(frozen=True)
class _Scope:
    """How one request is scoped: the store filter, and the tenant it resolved to.

    ``where`` is ``None`` for an unscoped request; ``tenant`` is ``None`` when
    the request has no usable tenant string (unscoped or injected filter).
    ``cache_key`` names the request's namespace in a tenant-keyed cache.
    """

    where: dict[str, Any] | None
    tenant: str | None
    cache_key: str
    events: list[GuardrailEvent] = field(default_factory=list)


def _check_request(query: object, mode: object, top_k: object) -> str:
    """Validate a request's arguments; returns the query text. Raises ``ValueError``."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must be a non-empty string")
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"query is longer than {MAX_QUERY_CHARS} characters")
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}; expected one of {', '.join(MODES)}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"top_k must be an int in [1, {MAX_TOP_K}], got {top_k!r}")
    return query


def _is_missing(tenant: object) -> bool:
    """True for ``None`` and empty values (``""``, ``{}``, ``[]``): what ``if not tenant:`` treats as absent."""
    if tenant is None:
        return True
    return isinstance(tenant, str | Mapping | list | tuple | set) and len(tenant) == 0


def _to_chunk(stored: StoredChunk | IndexedChunk, score: float) -> Chunk:
    meta = dict(stored.metadata)
    tenant = meta.get("tenant")
    return Chunk(
        id=stored.id,
        doc_id=str(meta.get("doc_id", "")),
        text=stored.text,
        tenant=tenant if isinstance(tenant, str) else None,
        score=score,
        metadata=meta,
    )


class RagLab:
    """A multi-tenant RAG pipeline over embedded Chroma, BM25 and SmolLM2.

    ``profile`` is ``"vulnerable"``, ``"hardened"`` or a :class:`LabProfile`;
    ``data_dir`` holds the Chroma files (created if missing). ``embedder`` and
    ``chat_model`` default to the process-wide all-MiniLM-L6-v2 and SmolLM2
    singletons (the LLM is loaded on the first ``answer``); ``corpus`` defaults
    to the sample corpus and is seeded when the collection is empty.

    Raises :class:`ragward.errors.ConfigError` for an unknown profile or a
    missing model package.
    """

    def __init__(
        self,
        profile: str | LabProfile,
        data_dir: Path,
        *,
        embedder: Embedder | None = None,
        chat_model: ChatModel | None = None,
        corpus: tuple[Sequence[Tenant], Sequence[Document]] | None = None,
        max_chunk_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        """Open (and on first use seed) the lab's collection; see the class docstring."""
        self.profile = get_profile(profile)
        self.data_dir = Path(data_dir)
        tenants, documents = corpus if corpus is not None else (sample_tenants(), sample_documents())
        self.tenants: dict[str, Tenant] = {t.id: t for t in tenants}
        self._embedder = embedder if embedder is not None else get_embedder()
        self._chat_model = chat_model
        self._generator: Generator | None = None
        self._max_chunk_chars = max_chunk_chars
        self._lock = threading.RLock()

        p = self.profile
        self._tenant_filter = TenantFilter(tuple(self.tenants)) if p.tenant_filter else None
        # Hardened: a PDF with hidden text is quarantined even when the text holds no instruction.
        self._scanner = None if p.no_ingest_scanning else IngestScanner(block_hidden_pdf_text=True)
        # "^" rather than the paper's "ˆ": one SmolLM2 token instead of two, a quarter fewer
        # prompt tokens for the same datamarking (the sanitiser strips markers found in chunks).
        # Delimiting, not datamarking: SmolLM2-135M cannot read "^"-joined words (it stops answering at all).
        self._sanitiser = None if p.no_context_sanitising else ContextSanitiser(datamark=False)
        self._cache = (
            SemanticCache(threshold=p.cache_threshold, keyed_by_tenant=not p.shared_response_cache)
            if p.response_cache
            else None
        )
        self._store = ChromaStore(self.data_dir / "chroma", f"ragward-lab-{p.name}", self._embedder)
        if self._store.count() == 0:
            self._write(list(documents))
        self._index = KeywordIndex(IndexedChunk(c.id, c.doc_id, c.text, c.metadata) for c in self._store.get())

    # ----------------------------------------------------------------- corpus

    @property
    def tenant_ids(self) -> tuple[str, ...]:
        """Ids of the corpus's tenants, sorted."""
        return tuple(sorted(self.tenants))

    def document_ids(self) -> set[str]:
        """Ids of every document in the vector store."""
        with self._lock:
            return {c.doc_id for c in self._store.get()}

    def corpus_state(self) -> dict[str, str]:
        """``{doc_id: sha256}`` of every stored document (see :func:`~ragward.lab.corpus.document_sha256`)."""
        with self._lock:
            return {c.doc_id: str(c.metadata.get("doc_sha256", "")) for c in self._store.get()}

    def _write(self, docs: Sequence[Document]) -> list[str]:
        """Chunk, embed and store ``docs`` (replacing same-id documents); returns the chunk ids."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, str | int | float | bool]] = []
        for doc in docs:
            digest = document_sha256(doc)
            for chunk in split_text(doc.id, doc.text, max_chars=self._max_chunk_chars):
                ids.append(chunk.id)
                texts.append(chunk.text)
                metas.append(
                    {
                        "tenant": doc.tenant,
                        "doc_id": doc.id,
                        "source": doc.metadata.get("source", "upload"),
                        "classification": doc.metadata.get("classification", "internal"),
                        "chunk": chunk.index,
                        "doc_sha256": digest,
                    }
                )
        embeddings = self._embedder.embed(texts)
        with self._lock:
            for doc in docs:
                self._store.delete_where({"doc_id": doc.id})
            self._store.add(ids, texts, metas, embeddings)
        return ids

    def ingest(self, doc: Document) -> IngestResult:
        """Store ``doc`` for ``doc.tenant``; a document with the same id is replaced.

        ``doc.metadata`` may hold ``source`` and ``classification`` (one of
        ``public``, ``internal``, ``confidential``, ``restricted``; default
        ``internal``). With ingest scanning on, a document the
        :class:`~ragward.guardrails.IngestScanner` blocks is quarantined: not
        stored, ``IngestResult(accepted=False, events=...)``.

        A PDF (``doc.content`` bytes, ``content_type="application/pdf"``) is
        parsed with pdfminer.six; ``doc.text`` is ignored. Without ingest
        scanning (flaw ``no_ingest_scanning``) every extracted character is
        indexed, hidden runs included, and a malformed file is indexed with
        whatever text could be read (:func:`~ragward.lab.loaders.naive_pdf_text`,
        fail open). With it, the scanner quarantines a PDF with hidden text or
        one it cannot parse (fail closed) and an accepted PDF is indexed as its
        visible text only.

        Raises ``ValueError`` for an empty id, tenant or text, an unknown
        classification, content of another type than PDF, a PDF with no text,
        or an id that another tenant's document already has.
        """
        if not isinstance(doc.id, str) or not doc.id.strip():
            raise ValueError("document id must be a non-empty string")
        if not isinstance(doc.tenant, str) or not doc.tenant.strip():
            raise ValueError("document tenant must be a non-empty string")
        pdf = doc.content is not None
        if pdf and doc.content_type.split(";")[0].strip().lower() not in PDF_TYPES:
            raise ValueError(f"unsupported content type {doc.content_type!r}; files must be {PDF_TYPES[0]}")
        if pdf and (not isinstance(doc.content, bytes) or not doc.content):
            raise ValueError("document content must be non-empty bytes")
        if not pdf and (not isinstance(doc.text, str) or not doc.text.strip()):
            raise ValueError("document text must be a non-empty string")
        classification = doc.metadata.get("classification", "internal")
        if classification not in CLASSIFICATIONS:
            raise ValueError(f"classification {classification!r} not in {CLASSIFICATIONS}")
        with self._lock:
            owners = {c.tenant for c in self._store.get({"doc_id": doc.id})}
        if owners - {doc.tenant}:
            raise ValueError(f"document id {doc.id!r} already belongs to another tenant")
        events: list[GuardrailEvent] = []
        if self._tenant_filter is not None:
            decision = self._tenant_filter.resolve(doc.tenant)
            events.extend(decision.events)
            if not decision.allowed:
                return IngestResult(accepted=False, events=events)
        if self._scanner is not None:
            content = doc.content if doc.content is not None else doc.text
            decision = self._scanner.scan(content, doc_id=doc.id, content_type=doc.content_type)
            events.extend(decision.events)
            if not decision.allowed:
                return IngestResult(accepted=False, events=events)
            if pdf:  # index what a reader sees
                doc = replace(doc, text=decision.text or "")
        elif doc.content is not None:
            doc = replace(doc, text=naive_pdf_text(doc.content))  # flaw: hidden runs and broken files
        if pdf and not doc.text.strip():
            raise ValueError("no text could be extracted from the PDF")
        self._write([doc])
        with self._lock:
            if not self.profile.stale_index_on_delete:
                self._index.remove_document(doc.id)
                if self._cache is not None:
                    self._cache.invalidate_document(doc.id)
            stored = self._store.get({"doc_id": doc.id})
            self._index.add(IndexedChunk(c.id, c.doc_id, c.text, c.metadata) for c in stored)
        return IngestResult(accepted=True, events=events)

    def delete(self, doc_id: str, tenant: str) -> bool:
        """Delete document ``doc_id`` of ``tenant``; returns whether anything was deleted.

        With the ``stale_index_on_delete`` flaw only the vector store forgets the
        document; otherwise the BM25 index and every cached answer that used it go too.
        Raises ``ValueError`` for an empty ``doc_id`` or ``tenant``.
        """
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError("doc_id must be a non-empty string")
        if not isinstance(tenant, str) or not tenant:
            raise ValueError("tenant must be a non-empty string")
        with self._lock:
            removed = self._store.delete_where({"$and": [{"doc_id": doc_id}, {"tenant": tenant}]})
            if removed and not self.profile.stale_index_on_delete:
                self._index.remove_document(doc_id)
                if self._cache is not None:
                    self._cache.invalidate_document(doc_id)
            return bool(removed)

    # -------------------------------------------------------------- retrieval

    def _scope(self, tenant: object) -> _Scope | Response:
        """Resolve the request's tenant to a store filter, or a blocked response."""
        if self._tenant_filter is not None:
            decision = self._tenant_filter.resolve(tenant)
            if not decision.allowed or decision.text is None:
                return Response(blocked=True, events=list(decision.events))
            name = decision.text
            return _Scope({"tenant": name}, name, name, list(decision.events))
        if _is_missing(tenant):
            if self.profile.missing_tenant_unscoped:
                return _Scope(None, None, _UNSCOPED)  # flaw: fail open
            return _Scope({"tenant": ""}, "", "")  # matches no chunk
        if isinstance(tenant, str):
            return _Scope({"tenant": tenant}, tenant, tenant)
        if self.profile.tenant_filter_injection:
            key = json.dumps(tenant, sort_keys=True, default=repr)
            return _Scope({"tenant": tenant}, None, key)  # flaw: operator injection
        return _Scope({"tenant": str(tenant)}, str(tenant), str(tenant))

    def _embed_query(self, text: str) -> NDArray[np.float32]:
        return np.asarray(self._embedder.embed([text])[0], dtype=np.float32)

    def _search(self, text: str, embedding: NDArray[np.float32], scope: _Scope, mode: str, top_k: int) -> list[Chunk]:
        """Run one retrieval mode; raises :class:`FilterError`/:class:`StoreFilterError`."""
        p = self.profile
        if mode == "vector":
            hits = self._store.query(embedding, n_results=top_k, where=scope.where)
            return [_to_chunk(h, 1.0 - (h.distance or 0.0)) for h in hits]
        if mode == "keyword":
            return [_to_chunk(c, s) for c, s in self._index.search(text, top_k=top_k, where=scope.where)]
        if mode == "hybrid":
            # Each leg returns top_k candidates, fused by RRF (as LangChain's EnsembleRetriever does).
            dense = self._store.query(embedding, n_results=top_k, where=scope.where)
            sparse_where = None if p.hybrid_keyword_unfiltered else scope.where  # flaw
            sparse = self._index.search(text, top_k=top_k, where=sparse_where)
            by_id: dict[str, StoredChunk | IndexedChunk] = {h.id: h for h in dense}
            for c, _ in sparse:
                by_id.setdefault(c.id, c)
            fused = reciprocal_rank_fusion([[h.id for h in dense], [c.id for c, _ in sparse]])
            return [_to_chunk(by_id[cid], score) for cid, score in fused[:top_k]]
        # mmr
        fetch_k = max(FETCH_K, top_k)
        prefetch_where = None if p.mmr_prefetch_unfiltered else scope.where  # flaw
        candidates = self._store.query(embedding, n_results=fetch_k, where=prefetch_where, with_embeddings=True)
        if not candidates:
            return []
        matrix = np.stack([np.asarray(c.embedding, dtype=np.float32) for c in candidates])
        chosen = maximal_marginal_relevance(embedding, matrix, top_k=top_k, lambda_mult=MMR_LAMBDA)
        return [_to_chunk(candidates[i], score) for i, score in chosen]

    def _retrieve(self, text: str, embedding: NDArray[np.float32], scope: _Scope, mode: str, top_k: int) -> Response:
        events = list(scope.events)
        try:
            with self._lock:
                chunks = self._search(text, embedding, scope, mode, top_k)
        except (FilterError, StoreFilterError) as exc:
            return Response(events=events, error=f"retrieval failed: {exc}")
        if self._tenant_filter is not None and scope.tenant is not None:
            events.extend(self._audit_scope(text, embedding, scope, mode, top_k))
            decision = self._tenant_filter.check_results(scope.tenant, [c.tenant for c in chunks])
            events.extend(decision.events)
            if not decision.allowed:
                return Response(blocked=True, events=events)
        return Response(contexts=chunks, events=events)

    def _audit_scope(
        self, text: str, embedding: NDArray[np.float32], scope: _Scope, mode: str, top_k: int
    ) -> list[GuardrailEvent]:
        """Report what the tenant filter kept out: other tenants' chunks in the unscoped top-k.

        The hardened lab runs the same search once more without the filter, only to emit one
        ``tenant_filter`` event per chunk of another tenant that the scoping kept out (with its
        ``doc_id``), so a scan can attribute a stopped cross-tenant probe to the guardrail (a
        production pipeline would sample this audit, not run it on every request).
        """
        try:
            with self._lock:
                unscoped = self._search(text, embedding, _Scope(None, None, _UNSCOPED), mode, top_k)
        except (FilterError, StoreFilterError):
            return []
        foreign = [c for c in unscoped if c.tenant != scope.tenant]
        return [
            GuardrailEvent(
                guardrail="tenant_filter",
                layer=Layer.RETRIEVAL,
                action=Action.REDACT,
                reason=f"tenant_scoped: kept chunk {c.id} of tenant {c.tenant or '?'} out of the {mode} "
                f"top-{top_k} for tenant {scope.tenant}",
                doc_id=c.doc_id,
            )
            for c in foreign
        ]

    def retrieve(self, query: str, tenant: object, *, mode: str = "vector", top_k: int = 4) -> Response:
        """The ``top_k`` chunks for ``query`` as ``tenant``, by ``mode`` (one of :data:`MODES`).

        ``blocked`` is set when a guardrail refused the request or the results;
        ``error`` when the store rejected the request's filter. Raises
        ``ValueError`` for an empty query, unknown mode or ``top_k`` outside [1, 50].
        """
        text = _check_request(query, mode, top_k)
        scope = self._scope(tenant)
        if isinstance(scope, Response):
            return scope
        embedding = self._embed_query(text) if mode != "keyword" else np.zeros(0, np.float32)
        return self._retrieve(text, embedding, scope, mode, top_k)

    # ----------------------------------------------------------------- answer

    @property
    def generator(self) -> Generator:
        """The answer generator (loads SmolLM2 on first use)."""
        if self._generator is None:
            model = self._chat_model if self._chat_model is not None else get_chat_model()
            self._generator = Generator(model)
        return self._generator

    def _renderer(self, events: list[GuardrailEvent]) -> Callable[[Sequence[Passage]], str]:
        """How passages become the prompt's context, recording the sanitiser's events in ``events``.

        Vulnerable: pasted as-is. Hardened: :meth:`ContextSanitiser.assemble` sanitises each chunk,
        drops chunks carrying an instruction (also one split across a chunk boundary) and wraps the rest
        as delimited data. The generator may render several times while fitting the context window;
        the events of the last rendering (what the model read) are kept.
        """
        sanitiser = self._sanitiser
        if sanitiser is None:
            return render_plain
        mark = len(events)

        def render(kept: Sequence[Passage]) -> str:
            decision = sanitiser.assemble(kept)
            del events[mark:]
            events.extend(decision.events)
            return decision.text or ""

        return render

    def _output_guard(self, scope: _Scope, chunks: Sequence[Chunk]) -> tuple[OutputFilter, list[str]] | None:
        """The output filter for a request (the tenant's domains allowed) and the secrets of its restricted
        chunks; ``None`` with the ``no_output_filter`` flaw."""
        if self.profile.no_output_filter:
            return None
        secrets: list[str] = []
        for c in chunks:
            if c.metadata.get("classification") == "restricted":
                secrets.extend(OutputFilter.secret_candidates(c.text))
        tenant = self.tenants.get(scope.tenant or "")
        hosts = tenant.domains if tenant is not None else ()
        return OutputFilter(allowed_hosts=hosts), sorted(set(secrets))

    def _filter_output(
        self, answer: str, scope: _Scope, chunks: Sequence[Chunk], events: list[GuardrailEvent]
    ) -> tuple[str, bool]:
        """Run the output filter; returns the answer to send and whether it was blocked."""
        guard = self._output_guard(scope, chunks)
        if guard is None:
            return answer, False
        output_filter, secrets = guard
        decision = output_filter.check(answer, secrets=secrets)
        events.extend(decision.events)
        if not decision.allowed:
            return decision.text or "I can't share that answer.", True
        return (decision.text if decision.text is not None else answer), False

    def _stream_output(
        self,
        model_pieces: Iterator[str],
        scope: _Scope,
        chunks: Sequence[Chunk],
        events: list[GuardrailEvent],
        on_piece: Callable[[str], None] | None,
    ) -> tuple[str, bool, list[str]]:
        """Stream the model's pieces to the client through the output filter.

        Returns (final answer, blocked, the pieces sent). Without a filter the pieces go out as they
        come. Hardened: :meth:`OutputFilter.stream` holds back enough text that a secret split across
        pieces is caught before any of it is sent; on a block the refusal is sent and generation stops.
        With ``output_filter_after_stream`` every piece is sent first and the whole answer checked
        afterwards (post-hoc moderation): a block then adds a ``late_block`` event, the bytes being gone.
        """
        sent: list[str] = []

        def send(piece: str) -> None:
            if piece:
                sent.append(piece)
                if on_piece is not None:
                    on_piece(piece)

        guard = self._output_guard(scope, chunks)
        try:
            if guard is None or self.profile.output_filter_after_stream:
                for piece in model_pieces:
                    send(piece)
                full = "".join(sent)
                if guard is None:
                    return full, False, sent
                output_filter, secrets = guard
                decision = output_filter.check(full, secrets=secrets)
                events.extend(decision.events)
                if decision.allowed:
                    return full, False, sent
                first = min((e.span[0] for e in decision.events if e.span is not None), default=0)
                events.append(
                    output_filter.event(
                        Action.BLOCK,
                        f"late_block: post-hoc moderation blocked the answer after all {len(full)} characters "
                        f"were streamed; the blocked content began {len(full) - first} characters before the end "
                        "of what was delivered; filter the stream before sending it",
                        span=(first, len(full)),
                    )
                )
                refusal = decision.text or output_filter.refusal
                send(refusal)
                return refusal, True, sent
            output_filter, secrets = guard
            stream = output_filter.stream(secrets=secrets)
            for piece in model_pieces:
                decision = stream.feed(piece)
                if not decision.allowed:
                    break
                send(decision.text or "")
            else:
                decision = stream.close()
            if not decision.allowed:
                events.extend(decision.events)
                refusal = decision.text or output_filter.refusal
                send(refusal)
                return refusal, True, sent
            send(decision.text or "")
            return stream.delivered, False, sent
        finally:
            close = getattr(model_pieces, "close", None)
            if callable(close):
                close()  # stops generation early after a block and frees the model's lock

    def answer(
        self,
        query: str,
        tenant: object,
        *,
        mode: str = "vector",
        top_k: int = 4,
        stream: bool = False,
        on_piece: Callable[[str], None] | None = None,
    ) -> Response:
        """Answer ``query`` as ``tenant``: cache lookup, retrieval by ``mode``, generation, output filter.

        ``cached`` is set when the answer came from the semantic cache (cosine
        ≥ the profile's threshold to an earlier query in the same cache scope).

        ``stream`` streams the answer: the model's pieces go through the output
        filter as they are produced (:meth:`_stream_output`), ``on_piece`` is
        called with each piece as it is sent, and ``Response.pieces`` holds
        them all (the refusal last when it blocked; ``[]`` when the request was
        refused before generation). A cache hit is sent as one piece. Streamed
        answers are cached like the others (the final answer, unless blocked).
        Raises ``ValueError`` like :meth:`retrieve`.
        """
        response = self._answer(query, tenant, mode, top_k, stream, on_piece)
        if stream and response.pieces is None:
            response.pieces = []
        return response

    def _answer(
        self,
        query: str,
        tenant: object,
        mode: str,
        top_k: int,
        stream: bool,
        on_piece: Callable[[str], None] | None,
    ) -> Response:
        text = _check_request(query, mode, top_k)
        scope = self._scope(tenant)
        if isinstance(scope, Response):
            return scope
        embedding = self._embed_query(text)
        if self._cache is not None:
            with self._lock:
                hit = self._cache.lookup(embedding, tenant=scope.cache_key)
                if hit is None and self._cache.keyed_by_tenant:
                    other = self._cache.lookup_other_scopes(embedding, tenant=scope.cache_key)
                    if other is not None:
                        scope.events.extend(
                            GuardrailEvent(
                                guardrail="tenant_keyed_cache",
                                layer=Layer.RETRIEVAL,
                                action=Action.REDACT,
                                reason=f"cache_scoped: another tenant's cached answer matched "
                                f"(cosine {other.similarity:.2f}) and was not served",
                                doc_id=doc_id,
                            )
                            for doc_id in sorted(other.entry.doc_ids)
                        )
            if hit is not None:
                if stream and on_piece is not None and hit.entry.answer:
                    on_piece(hit.entry.answer)
                return Response(
                    answer=hit.entry.answer,
                    contexts=list(hit.entry.contexts),
                    events=list(scope.events),
                    cached=True,
                    pieces=([hit.entry.answer] if hit.entry.answer else []) if stream else None,
                )
        retrieved = self._retrieve(text, embedding, scope, mode, top_k)
        if retrieved.blocked or retrieved.error is not None:
            return retrieved
        events = retrieved.events
        chunks = retrieved.contexts
        passages: list[Passage] = [(c.doc_id, c.text) for c in chunks]
        render = self._renderer(events)
        tenant_info = self.tenants.get(scope.tenant or "")
        company = tenant_info.name if tenant_info is not None else "the company"
        pieces: list[str] | None = None
        if stream:
            model_pieces = self.generator.stream(text, passages, company=company, render=render)
            final, blocked, pieces = self._stream_output(model_pieces, scope, chunks, events, on_piece)
        else:
            raw = self.generator.answer(text, passages, company=company, render=render)
            final, blocked = self._filter_output(raw, scope, chunks, events)
        if self._cache is not None and not blocked:
            with self._lock:
                if self._still_stored(chunks):
                    self._cache.store(embedding, tenant=scope.cache_key, query=text, answer=final, contexts=chunks)
        return Response(answer=final, contexts=chunks, events=events, blocked=blocked, pieces=pieces)

    def _still_stored(self, chunks: Sequence[Chunk]) -> bool:
        """False when a document used by the answer was deleted meanwhile (hardened only)."""
        if self.profile.stale_index_on_delete or not chunks:
            return True
        doc_ids = sorted({c.doc_id for c in chunks})
        where: Mapping[str, Any] = {"doc_id": {"$in": doc_ids}}
        return {c.doc_id for c in self._store.get(where)} == set(doc_ids)

    def close(self) -> None:
        """Release the store. The shared models stay loaded for other labs."""
        with self._lock:
            self._store.close()
