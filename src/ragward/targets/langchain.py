"""The ``langchain`` adapter: a LangChain retriever built by the application's factory.

The target file names a factory (``module:function`` or ``file.py:function``)
called once with ``options``; it returns a :class:`LangChainRag`:

- ``retriever(tenant, mode, top_k)`` builds the ``BaseRetriever`` the
  application uses for a request as ``tenant`` (the value the application
  receives: a declared identity's value, or the raw value the isolation suite
  sends) in ``mode``; it applies the tenant filter exactly as the application
  does (``search_kwargs={"filter": ...}``, a filtered wrapper, a direct
  ``similarity_search`` call…). Raising ``PermissionError`` is a refusal;
- ``vectorstore`` (optional) is where the scan plants and deletes documents
  (``add_documents`` with ids, ``delete``, ``get_by_ids``): each planted
  document is one ``Document`` with metadata ``{tenant_key: <tenant>,
  "doc_id": <id>, ...}``;
- ``modes`` are the retrieval modes the application offers.

Retrieval runs ``await retriever.ainvoke(query)`` (LangChain Runnable
protocol, langchain-core 1.x). Document listing uses ``get_by_ids`` on the ids
the scan planted or was asked to delete, since a ``VectorStore`` has no
listing API.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragward.errors import ConfigError, TargetError
from ragward.targets._factory import TenantMap, load_factory
from ragward.targets.base import Capabilities, Capability, Document, IngestResult, Query, Response
from ragward.targets.config import LangChainTargetConfig

__all__ = ["LangChainRag", "LangChainTarget"]


@dataclass
class LangChainRag:
    """What a LangChain factory returns; see the module docstring."""

    retriever: Callable[[object, str, int], Any]
    vectorstore: Any = None
    modes: tuple[str, ...] = ("vector",)
    tenant_key: str = "tenant"
    extra: dict[str, Any] = field(default_factory=dict)


class LangChainTarget:
    """A LangChain retriever as a scan target; see the module docstring.

    ``app`` replaces calling the configured factory (tests). ``key``:
    ``langchain-<sha256(factory, options)[:12]>``. Raises :class:`ConfigError`
    when the factory cannot be imported or returns something else than a
    :class:`LangChainRag`.
    """

    def __init__(self, config: LangChainTargetConfig, *, app: LangChainRag | None = None) -> None:
        """Import and call the factory (building the application's stack)."""
        self.config = config
        self.name = config.label
        self._tenants = TenantMap(config.tenants)
        if app is None:
            built = load_factory(config.factory)(**config.options)
            if not isinstance(built, LangChainRag):
                raise ConfigError(f"factory: {config.factory} must return a ragward.targets.langchain.LangChainRag")
            app = built
        self.app = app
        self._watched: set[str] = set()
        digest = hashlib.sha256(f"{config.factory}|{sorted(config.options.items())!r}".encode()).hexdigest()[:12]
        self.key = f"langchain-{digest}"

    def __repr__(self) -> str:
        return f"LangChainTarget(name={self.name!r}, factory={self.config.factory!r})"

    def capabilities(self) -> Capabilities:
        """Retrieve and tenants; ingest/delete/list when the factory gave a vector store."""
        supported = {Capability.RETRIEVE, Capability.TENANTS}
        if self.app.vectorstore is not None:
            supported |= {Capability.INGEST, Capability.DELETE, Capability.LIST_DOCUMENTS}
        return Capabilities(
            supported=frozenset(supported - set(self.config.disable)),
            retrieval_modes=tuple(self.app.modes),
            tenants=self._tenants.names,
        )

    def _store(self) -> Any:
        if self.app.vectorstore is None:
            raise TargetError(f"{self.name}: the factory gave no vectorstore to plant documents in")
        return self.app.vectorstore

    async def ingest(self, doc: Document) -> IngestResult:
        """Add ``doc`` to the vector store as one LangChain ``Document`` (id = ``doc.id``)."""
        from langchain_core.documents import Document as LCDocument

        meta: dict[str, Any] = {**doc.metadata, self.app.tenant_key: self._tenants.stored(doc.tenant), "doc_id": doc.id}
        self._watched.add(doc.id)
        try:
            await self._store().aadd_documents(
                [LCDocument(page_content=doc.text, metadata=meta, id=doc.id)], ids=[doc.id]
            )
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(f"{self.name}: add_documents failed: {type(exc).__name__}: {exc}") from exc
        return IngestResult(accepted=True)

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete ``doc_id`` from the vector store."""
        self._watched.add(doc_id)
        try:
            await self._store().adelete(ids=[doc_id])
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(f"{self.name}: delete failed: {type(exc).__name__}: {exc}") from exc

    async def document_ids(self) -> set[str]:
        """The planted (or deleted-on-request) ids that ``get_by_ids`` still finds."""
        if not self._watched:
            return set()
        found = await self._store().aget_by_ids(sorted(self._watched))
        return {str(d.metadata.get("doc_id", d.id)) for d in found}

    async def retrieve(self, query: Query) -> Response:
        """``ainvoke`` the application's retriever for ``query``'s tenant and mode."""
        if query.mode not in self.app.modes:
            raise TargetError(f"{self.name}: unknown retrieval mode {query.mode!r}")
        try:
            retriever = await asyncio.to_thread(
                self.app.retriever, self._tenants.value(query.tenant), query.mode, query.top_k
            )
            docs = await retriever.ainvoke(query.text)
        except PermissionError:
            return Response(blocked=True, refused=True)
        except Exception as exc:  # the application's own error reaches its caller
            return Response(error=f"retrieval failed: {type(exc).__name__}: {exc}")
        key = self.app.tenant_key
        contexts = [
            self._tenants.chunk(
                d.id or d.metadata.get("doc_id", ""),
                d.metadata.get("doc_id"),
                str(d.page_content),
                d.metadata.get(key),
                float(d.metadata.get("score", 0.0) or 0.0),
                dict(d.metadata),
            )
            for d in docs[: query.top_k]
        ]
        return Response(contexts=contexts)

    async def answer(self, query: Query) -> Response:
        """Not supported: combine with ``kind: openai`` for answers."""
        raise TargetError(f"{self.name}: a langchain target only retrieves; use kind: openai for answers")

    async def close(self) -> None:
        """Nothing to release (the factory's objects belong to the application)."""
