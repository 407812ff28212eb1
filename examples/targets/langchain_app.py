"""A small multi-tenant LangChain retriever: the shape of application ragward's ``langchain`` adapter scans.

``InMemoryVectorStore`` (langchain-core) with the lab's embedding model,
all-MiniLM-L6-v2; every request gets a retriever built for its tenant, with a
filter function on the ``tenant`` metadata, in one of three modes:
``vector`` (similarity), ``mmr`` and ``threshold`` (similarity search with a minimum score, through a custom
retriever calling the store directly).

The options reproduce issue 5's reported failures so a scan can show them:
``filter_mmr=False`` builds the MMR retriever without the filter (it holds for
plain similarity search only), ``filter_threshold=False`` does the same for the
score-threshold retriever (the direct store call forgets it), and ``fail_open=True`` drops the filter when the
request has no tenant (``if tenant: ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import InMemoryVectorStore

from ragward.targets.langchain import LangChainRag


class ModelEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over any object with ``embed(texts) -> array`` (default: the lab's model)."""

    def __init__(self, model: Any = None) -> None:
        self._model = model

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if self._model is None:
            from ragward.lab.models import get_embedder

            self._model = get_embedder()
        return [[float(x) for x in row] for row in self._model.embed(texts)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]


class ThresholdRetriever(BaseRetriever):
    """Similarity search with a minimum score, called directly on the store (no relevance-score API needed)."""

    store: Any
    k: int = 4
    threshold: float = 0.0
    search_filter: Any = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.store.similarity_search_with_score(query, k=self.k, filter=self.search_filter)
        return [doc for doc, score in hits if score >= self.threshold]


def build(
    filter_mmr: bool = True,
    filter_threshold: bool = True,
    fail_open: bool = False,
    embeddings: Embeddings | None = None,
) -> LangChainRag:
    """The application's retrieval stack (see the module docstring)."""
    store = InMemoryVectorStore(embeddings or ModelEmbeddings())

    def retriever(tenant: object, mode: str, k: int) -> Any:
        search: dict[str, Any] = {"k": k}
        if tenant or not fail_open:  # the fixed application filters every request
            only: Callable[[Document], bool] = lambda doc: doc.metadata.get("tenant") == tenant  # noqa: E731
            search["filter"] = only
        if mode == "vector":
            return store.as_retriever(search_kwargs=search)
        if mode == "mmr":
            kwargs = {"fetch_k": 20, **(search if filter_mmr else {"k": k})}
            return store.as_retriever(search_type="mmr", search_kwargs=kwargs)
        flt = search.get("filter") if filter_threshold else None
        return ThresholdRetriever(store=store, k=k, threshold=0.0, search_filter=flt)

    return LangChainRag(retriever=retriever, vectorstore=store, modes=("vector", "mmr", "threshold"))
