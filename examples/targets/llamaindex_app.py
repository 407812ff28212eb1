"""A small multi-tenant LlamaIndex retriever: the shape of application ragward's ``llamaindex`` adapter scans.

A ``VectorStoreIndex`` over LlamaIndex's in-memory ``SimpleVectorStore`` with the
lab's embedding model (all-MiniLM-L6-v2); every request gets a retriever with
``MetadataFilters`` on the ``tenant`` metadata, in ``vector`` (similarity) or
``mmr`` mode.

The options reproduce issue 5's reported failures: ``filter_mmr=False`` builds
the MMR retriever without the filters (they hold for plain similarity search
only), ``fail_open=True`` drops the filters when the request has no tenant.
"""

from __future__ import annotations

from typing import Any

from llama_index.core import VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.vector_stores import MetadataFilter, MetadataFilters
from pydantic import PrivateAttr

from ragward.targets.llamaindex import LlamaIndexRag


class ModelEmbedding(BaseEmbedding):
    """LlamaIndex embedding over any object with ``embed(texts) -> array`` (default: the lab's model)."""

    _model: Any = PrivateAttr(default=None)

    def __init__(self, model: Any = None, **kwargs: Any) -> None:
        super().__init__(model_name="all-MiniLM-L6-v2", **kwargs)
        self._model = model

    def _vectors(self, texts: list[str]) -> list[list[float]]:
        if self._model is None:
            from ragward.lab.models import get_embedder

            self._model = get_embedder()
        return [[float(x) for x in row] for row in self._model.embed(texts)]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vectors([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vectors([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._vectors(texts)


def build(filter_mmr: bool = True, fail_open: bool = False, embed_model: BaseEmbedding | None = None) -> LlamaIndexRag:
    """The application's retrieval stack (see the module docstring)."""
    index = VectorStoreIndex(nodes=[], embed_model=embed_model or ModelEmbedding())

    def retriever(tenant: object, mode: str, k: int) -> Any:
        filters = None
        if tenant or not fail_open:  # the fixed application filters every request
            filters = MetadataFilters(filters=[MetadataFilter(key="tenant", value=tenant)])  # type: ignore[arg-type]
        if mode == "mmr":
            return index.as_retriever(
                similarity_top_k=k, filters=filters if filter_mmr else None, vector_store_query_mode="mmr"
            )
        return index.as_retriever(similarity_top_k=k, filters=filters)

    return LlamaIndexRag(retriever=retriever, index=index, modes=("vector", "mmr"))
