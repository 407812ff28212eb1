"""The ``Target`` protocol: what the scan engine needs from a RAG pipeline.

A target declares its :class:`Capabilities`; the planner skips any test whose
required capability is missing and records the reason. All I/O methods are
``async`` so that remote targets (HTTP services) run concurrently; in-process
targets run their blocking work in threads.

Tenant values in :class:`Query` are deliberately typed ``object``: the isolation
suite sends ``None``, ``""``, and filter-widening values such as
``{"$ne": ""}`` to check that the target refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from ragward.model import Action, GuardrailEvent

__all__ = [
    "Action",
    "Capabilities",
    "Capability",
    "Chunk",
    "Document",
    "GuardrailEvent",
    "IngestResult",
    "Query",
    "Response",
    "Target",
]


class Capability(StrEnum):
    """What a target can do for the scanner."""

    INGEST = "ingest"
    DELETE = "delete"
    LIST_DOCUMENTS = "list_documents"
    RETRIEVE = "retrieve"
    ANSWER = "answer"
    TENANTS = "tenants"
    GUARDRAIL_EVENTS = "guardrail_events"
    RESPONSE_CACHE = "response_cache"
    #: The target accepts PDF files (``Document.content`` with ``content_type="application/pdf"``).
    INGEST_PDF = "ingest_pdf"
    #: The target can stream answers: with ``Query.stream`` it returns the pieces the
    #: client received (``Response.pieces``). Targets without it ignore the flag.
    STREAM = "stream"


@dataclass(frozen=True)
class Document:
    """A document to plant. ``metadata`` holds ``source`` and ``classification``.

    A plain-text document has ``content=None`` and ``content_type="text/plain"``.
    A file (a PDF: ``content_type="application/pdf"``) carries its raw bytes in
    ``content``; ``text`` then holds the file's visible text, for logs and
    evidence only (what the target indexes is what it extracts from ``content``).
    """

    id: str
    text: str
    tenant: str
    metadata: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    content_type: str = "text/plain"


@dataclass(frozen=True)
class Chunk:
    """A retrieved chunk, with the tenant the target says it belongs to."""

    id: str
    doc_id: str
    text: str
    tenant: str | None
    score: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Query:
    """A retrieval or answer request.

    ``tenant`` is the identity the request is made as; ``mode`` one of the
    target's ``retrieval_modes``; ``top_k`` the number of chunks wanted;
    ``stream`` asks for the answer streamed piece by piece (honoured by targets
    with :attr:`Capability.STREAM`, ignored by the others).
    """

    text: str
    tenant: object
    mode: str = "vector"
    top_k: int = 4
    stream: bool = False


@dataclass
class Response:
    """What a target returned: answer (``None`` for retrieval only), contexts, events.

    ``pieces`` is, for a streamed answer, the text exactly as the client
    received it, piece by piece (server-sent event deltas, tokens), including
    text delivered before a later block and the refusal sent after it; ``None``
    for an answer that was not streamed. ``answer`` is then the answer the
    target settled on (the refusal when it blocked). Leak detection reads
    :attr:`received`, never ``answer`` alone: a block that comes after the
    bytes were sent does not take them back.
    """

    answer: str | None = None
    contexts: list[Chunk] = field(default_factory=list)
    events: list[GuardrailEvent] = field(default_factory=list)
    blocked: bool = False
    refused: bool = False
    cached: bool = False
    error: str | None = None
    pieces: list[str] | None = None

    @property
    def received(self) -> str | None:
        """The text the client received: the joined ``pieces`` of a streamed answer, else ``answer``."""
        return "".join(self.pieces) if self.pieces is not None else self.answer


@dataclass
class IngestResult:
    """Outcome of planting one document: ``accepted`` false when quarantined."""

    accepted: bool
    events: list[GuardrailEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Capabilities:
    """What a target declares. ``tenants`` are the identities the scan may act as.

    ``tenant_key`` is the metadata key (or column) the target's tenant filter
    matches, when known; filter-tampering probes that must name it fall back to
    common names when it is ``None``.
    """

    supported: frozenset[Capability]
    retrieval_modes: tuple[str, ...] = ("vector",)
    tenants: tuple[str, ...] = ()
    tenant_key: str | None = None

    def has(self, capability: Capability) -> bool:
        """True when ``capability`` is declared."""
        return capability in self.supported

    def missing(self, required: frozenset[Capability]) -> list[Capability]:
        """The required capabilities this target lacks, in a stable order."""
        return sorted(required - self.supported)


@runtime_checkable
class Target(Protocol):
    """A RAG pipeline the engine can drive.

    ``key`` identifies the target across processes (it names the cleanup
    journal). Methods raise :class:`ragward.errors.TargetError` on transport or
    target failures; a guardrail refusing a request is not an error but a
    :class:`Response` with ``blocked`` set.
    """

    name: str
    key: str

    def capabilities(self) -> Capabilities: ...

    async def ingest(self, doc: Document) -> IngestResult: ...

    async def delete(self, doc_id: str, tenant: str) -> None: ...

    async def document_ids(self) -> set[str]: ...

    async def retrieve(self, query: Query) -> Response: ...

    async def answer(self, query: Query) -> Response: ...

    async def close(self) -> None: ...
