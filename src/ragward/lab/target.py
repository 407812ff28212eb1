"""``LabTarget``: the lab as a scan :class:`~ragward.targets.base.Target` (the default scan target).

The lab is opened lazily, in a worker thread, on the first call that needs it,
so constructing a target never blocks an event loop. Every blocking call runs
through :func:`asyncio.to_thread`; the lab serialises store access and the
models serialise inference, so concurrent scan tests are safe.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ragward.errors import RagwardError, TargetError
from ragward.lab.corpus import sample_tenants
from ragward.lab.models import ChatModel, Embedder
from ragward.lab.pipeline import MODES, RagLab
from ragward.lab.profiles import LabProfile, get_profile
from ragward.targets.base import (
    Capabilities,
    Capability,
    Document,
    IngestResult,
    Query,
    Response,
)

__all__ = ["LabTarget"]

T = TypeVar("T")


class LabTarget:
    """The reference lab as a scan target.

    ``name`` is ``"lab:<profile>"``; ``key`` is ``"lab-<profile>-<12 hex>"``,
    the hex being the SHA-256 of the resolved ``data_dir``, so it is stable
    across processes for one (profile, data dir). Capabilities: ingest, delete,
    list_documents, retrieve, answer, tenants, guardrail_events,
    response_cache, ingest_pdf (PDF files, see :meth:`RagLab.ingest`) and
    stream (every :class:`Capability`); retrieval modes vector, keyword, hybrid and mmr; tenants are
    the sample corpus's. Raises :class:`ragward.errors.ConfigError` for an
    unknown profile; methods raise :class:`ragward.errors.TargetError` when the
    lab fails or a request is malformed (a guardrail refusal is a
    :class:`Response` with ``blocked`` set, not an error).
    """

    def __init__(
        self,
        profile: str | LabProfile,
        data_dir: Path,
        *,
        embedder: Embedder | None = None,
        chat_model: ChatModel | None = None,
    ) -> None:
        """Prepare the target; the lab itself opens on first use.

        ``embedder`` and ``chat_model`` replace the real models (tests only).
        """
        self.profile = get_profile(profile)
        self._embedder = embedder
        self._chat_model = chat_model
        self.data_dir = Path(data_dir).expanduser().resolve()
        digest = hashlib.sha256(str(self.data_dir).encode("utf-8")).hexdigest()[:12]
        self.name = f"lab:{self.profile.name}"
        self.key = f"lab-{self.profile.name}-{digest}"
        self._lab: RagLab | None = None
        self._open_lock = threading.Lock()
        self._closed = False

    def capabilities(self) -> Capabilities:
        """Everything the lab supports (no I/O)."""
        return Capabilities(
            supported=frozenset(Capability),
            retrieval_modes=MODES,
            tenants=tuple(t.id for t in sample_tenants()),
            tenant_key="tenant",
        )

    def _open(self) -> RagLab:
        with self._open_lock:
            if self._closed:
                raise TargetError(f"{self.name}: target is closed")
            if self._lab is None:
                self._lab = RagLab(self.profile, self.data_dir, embedder=self._embedder, chat_model=self._chat_model)
            return self._lab

    async def _run(self, work: Callable[[RagLab], T]) -> T:
        """Run ``work(lab)`` in a thread; wraps unexpected failures in :class:`TargetError`."""

        def call() -> T:
            return work(self._open())

        try:
            return await asyncio.to_thread(call)
        except RagwardError:
            raise
        except ValueError as exc:
            raise TargetError(f"{self.name}: invalid request: {exc}") from exc
        except Exception as exc:  # a crash inside Chroma, torch or llama.cpp
            raise TargetError(f"{self.name}: lab failure: {type(exc).__name__}: {exc}") from exc

    async def ingest(self, doc: Document) -> IngestResult:
        """Plant ``doc``; ``accepted`` is false when the ingest scanner quarantined it."""
        return await self._run(lambda lab: lab.ingest(doc))

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete ``doc_id`` of ``tenant`` (a no-op when it does not exist)."""
        await self._run(lambda lab: lab.delete(doc_id, tenant))

    async def document_ids(self) -> set[str]:
        """Ids of every document in the lab's vector store."""
        return await self._run(lambda lab: lab.document_ids())

    async def corpus_state(self) -> dict[str, str]:
        """``{doc_id: sha256}`` of every stored document."""
        return await self._run(lambda lab: lab.corpus_state())

    async def retrieve(self, query: Query) -> Response:
        """Retrieval only: the chunks (with their tenant) and guardrail events."""
        return await self._run(lambda lab: lab.retrieve(query.text, query.tenant, mode=query.mode, top_k=query.top_k))

    async def answer(self, query: Query, *, on_piece: Callable[[str], None] | None = None) -> Response:
        """Retrieve with ``query.mode`` then generate; ``cached`` when served from the cache.

        With ``query.stream`` the answer is streamed through the profile's output filter
        (:meth:`RagLab.answer`): ``Response.pieces`` holds what the client received, and
        ``on_piece`` (``ragward lab serve``) is called with each piece as it is sent, from the
        lab's worker thread.
        """
        return await self._run(
            lambda lab: lab.answer(
                query.text, query.tenant, mode=query.mode, top_k=query.top_k, stream=query.stream, on_piece=on_piece
            )
        )

    async def close(self) -> None:
        """Close the lab's store; later calls raise :class:`TargetError`."""

        def shut() -> None:
            with self._open_lock:
                self._closed = True
                lab, self._lab = self._lab, None
            if lab is not None:
                lab.close()

        await asyncio.to_thread(shut)
