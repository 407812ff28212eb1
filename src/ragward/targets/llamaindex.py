"""The ``llamaindex`` adapter: a LlamaIndex retriever built by the application's factory.

The target file names a factory (``module:function`` or ``file.py:function``)
called once with ``options``; it returns a :class:`LlamaIndexRag`:

- ``retriever(tenant, mode, top_k)`` builds the ``BaseRetriever`` the
  application uses for a request as ``tenant`` (a declared identity's value,
  or the raw value the isolation suite sends) in ``mode``, with the metadata
  filters exactly as the application sets them (``MetadataFilters``,
  ``vector_store_query_mode``…). Raising ``PermissionError`` is a refusal;
- ``index`` (optional) is the ``VectorStoreIndex`` the scan plants in: each
  planted document is one ``TextNode`` ``<doc_id>#0`` whose source (ref doc) is
  the document id, with metadata ``{tenant_key: <tenant>, "doc_id": <id>,
  ...}``; it is inserted with ``insert_nodes`` (no node parser, so no
  tokenizer download), deleted with ``delete_ref_doc`` and listed through
  ``ref_doc_info``;
- ``modes`` are the retrieval modes the application offers.

Retrieval runs ``await retriever.aretrieve(query)`` (llama-index-core 0.14).
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
from ragward.targets.config import LlamaIndexTargetConfig

__all__ = ["LlamaIndexRag", "LlamaIndexTarget"]


@dataclass
class LlamaIndexRag:
    """What a LlamaIndex factory returns; see the module docstring."""

    retriever: Callable[[object, str, int], Any]
    index: Any = None
    modes: tuple[str, ...] = ("vector",)
    tenant_key: str = "tenant"
    extra: dict[str, Any] = field(default_factory=dict)


class LlamaIndexTarget:
    """A LlamaIndex retriever as a scan target; see the module docstring.

    ``app`` replaces calling the configured factory (tests). ``key``:
    ``llamaindex-<sha256(factory, options)[:12]>``. Raises :class:`ConfigError`
    when the factory cannot be imported or returns something else than a
    :class:`LlamaIndexRag`.
    """

    def __init__(self, config: LlamaIndexTargetConfig, *, app: LlamaIndexRag | None = None) -> None:
        """Import and call the factory (building the application's index and retrievers)."""
        self.config = config
        self.name = config.label
        self._tenants = TenantMap(config.tenants)
        if app is None:
            built = load_factory(config.factory)(**config.options)
            if not isinstance(built, LlamaIndexRag):
                raise ConfigError(f"factory: {config.factory} must return a ragward.targets.llamaindex.LlamaIndexRag")
            app = built
        self.app = app
        self._lock = asyncio.Lock()
        digest = hashlib.sha256(f"{config.factory}|{sorted(config.options.items())!r}".encode()).hexdigest()[:12]
        self.key = f"llamaindex-{digest}"

    def __repr__(self) -> str:
        return f"LlamaIndexTarget(name={self.name!r}, factory={self.config.factory!r})"

    def capabilities(self) -> Capabilities:
        """Retrieve and tenants; ingest/delete/list when the factory gave an index."""
        supported = {Capability.RETRIEVE, Capability.TENANTS}
        if self.app.index is not None:
            supported |= {Capability.INGEST, Capability.DELETE, Capability.LIST_DOCUMENTS}
        return Capabilities(
            supported=frozenset(supported - set(self.config.disable)),
            retrieval_modes=tuple(self.app.modes),
            tenants=self._tenants.names,
        )

    def _index(self) -> Any:
        if self.app.index is None:
            raise TargetError(f"{self.name}: the factory gave no index to plant documents in")
        return self.app.index

    async def _call(self, what: str, work: Callable[[], Any]) -> Any:
        async with self._lock:  # the in-memory stores of LlamaIndex are not thread safe
            try:
                return await asyncio.to_thread(work)
            except TargetError:
                raise
            except Exception as exc:
                raise TargetError(f"{self.name}: {what} failed: {type(exc).__name__}: {exc}") from exc

    async def ingest(self, doc: Document) -> IngestResult:
        """Insert ``doc`` as one ``TextNode`` whose source document is ``doc.id``."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        index = self._index()
        meta: dict[str, Any] = {**doc.metadata, self.app.tenant_key: self._tenants.stored(doc.tenant), "doc_id": doc.id}
        node = TextNode(
            id_=f"{doc.id}#0",
            text=doc.text,
            metadata=meta,
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc.id)},
        )
        await self._call("insert_nodes", lambda: index.insert_nodes([node]))
        return IngestResult(accepted=True)

    async def delete(self, doc_id: str, tenant: str) -> None:
        """Delete every node of source document ``doc_id`` (index and docstore)."""
        index = self._index()
        await self._call("delete_ref_doc", lambda: index.delete_ref_doc(doc_id, delete_from_docstore=True))

    async def document_ids(self) -> set[str]:
        """The source document ids the index knows (``ref_doc_info``)."""
        index = self._index()
        info = await self._call("ref_doc_info", lambda: index.ref_doc_info)
        return {str(k) for k in info}

    async def retrieve(self, query: Query) -> Response:
        """``aretrieve`` with the application's retriever for ``query``'s tenant and mode."""
        if query.mode not in self.app.modes:
            raise TargetError(f"{self.name}: unknown retrieval mode {query.mode!r}")
        try:
            retriever = self.app.retriever(self._tenants.value(query.tenant), query.mode, query.top_k)
            async with self._lock:
                hits = await retriever.aretrieve(query.text)
        except PermissionError:
            return Response(blocked=True, refused=True)
        except Exception as exc:  # the application's own error (an invalid filter value…)
            first = str(exc).splitlines()[0] if str(exc) else ""
            return Response(error=f"retrieval failed: {type(exc).__name__}: {first}")
        key = self.app.tenant_key
        contexts = []
        for hit in hits[: query.top_k]:
            node = hit.node
            meta = dict(node.metadata)
            contexts.append(
                self._tenants.chunk(
                    node.node_id,
                    meta.get("doc_id", node.ref_doc_id),
                    str(node.get_content()),
                    meta.get(key),
                    float(hit.score or 0.0),
                    meta,
                )
            )
        return Response(contexts=contexts)

    async def answer(self, query: Query) -> Response:
        """Not supported: combine with ``kind: openai`` for answers."""
        raise TargetError(f"{self.name}: a llamaindex target only retrieves; use kind: openai for answers")

    async def close(self) -> None:
        """Nothing to release (the factory's objects belong to the application)."""
