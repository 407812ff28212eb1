"""The per-test context: planting with journaling, probing, and event collection."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from ragward.engine.cleanup import remove_and_verify
from ragward.engine.detectors.canary import new_canary
from ragward.engine.journal import Journal, JournalEntry
from ragward.errors import RagwardError
from ragward.model import GuardrailEvent
from ragward.targets.base import Capabilities, Document, Query, Response, Target


@dataclass
class Planted:
    """A document the test planted: ``accepted`` false when the target quarantined it."""

    doc_id: str
    tenant: str
    accepted: bool
    events: list[GuardrailEvent] = field(default_factory=list)


MARKER_WORDS = ("PELICAN", "MARMALADE", "TANGERINE", "ZEPPELIN", "KUMQUAT", "BISCUIT", "NEBULA", "WALRUS")


def new_marker(rng: random.Random | None = None) -> str:
    """A marker word such as ``PELICAN-4821``: what an obeyed injection makes the generator say.

    Drawn from the OS's CSPRNG unless ``rng`` is given (reproducible scans).
    """
    rng = rng or random.SystemRandom()
    return f"{rng.choice(MARKER_WORDS)}-{rng.randrange(1000, 10000)}"


class RunState:
    """What the tests of one run share: target, journal, canaries, markers, lock.

    Tests run concurrently against one target, so one test's answer can carry
    what another test planted (same tenant, overlapping topics). The run keeps
    who planted what: ``restricted`` maps every canary planted in a
    ``restricted`` document to the id of the test that planted it, and
    ``markers`` every injection marker drawn to its test. Leak and injection
    checks search an answer for all of them (the test's own first), so an answer
    carrying another test's secret or obeyed payload fails instead of passing
    unnoticed.
    """

    def __init__(
        self, target: Target, caps: Capabilities, run_id: str, journal: Journal, seed: int | None = None
    ) -> None:
        self.target = target
        # Canaries and markers come from the OS's CSPRNG; a seed makes a scan reproducible (regression tests).
        self.rng = random.Random(seed) if seed is not None else None
        self.caps = caps
        self.run_id = run_id
        self.journal = journal
        self.canaries: list[str] = []
        self.restricted: dict[str, str] = {}  # canary planted in a restricted document -> test id
        self.markers: dict[str, str] = {}  # injection marker -> test id
        self.planted: dict[str, str] = {}  # doc_id -> tenant, not yet removed
        self.lock = asyncio.Lock()

    def new_canary(self) -> str:
        """A fresh canary token, remembered for redaction of every report of the run."""
        token = new_canary(self.rng)
        self.canaries.append(token)
        return token

    def new_marker(self) -> str:
        """A per-run marker word for injection payloads (see :func:`new_marker`)."""
        return new_marker(self.rng)

    async def teardown(self, doc_ids: list[str]) -> None:
        """Remove and verify ``doc_ids`` (raises ``CleanupError`` if any stays)."""
        entries = [JournalEntry(d, self.planted[d], self.run_id) for d in doc_ids if d in self.planted]
        await remove_and_verify(self.target, self.journal, entries)
        for entry in entries:
            self.planted.pop(entry.doc_id, None)


class TestContext:
    """What a test function gets: the target, tenants, and recording helpers.

    Every response's guardrail events are collected in ``events`` so that
    attribution can name the guardrail that stopped the attack.
    """

    __test__ = False

    def __init__(self, state: RunState, test_id: str) -> None:
        self.state = state
        self.test_id = test_id
        self.events: list[GuardrailEvent] = []
        self.doc_ids: list[str] = []
        self.notes: dict[str, Any] = {}
        self.own_canaries: list[str] = []

    @property
    def target(self) -> Target:
        """The target under test."""
        return self.state.target

    @property
    def caps(self) -> Capabilities:
        """The target's declared capabilities."""
        return self.state.caps

    @property
    def tenants(self) -> tuple[str, ...]:
        """The tenant identities the scan may act as (declared by the target)."""
        return self.state.caps.tenants

    def canary(self) -> str:
        """A new per-run canary token (recorded in ``RunState.restricted`` once planted in a restricted document)."""
        token = self.state.new_canary()
        self.own_canaries.append(token)
        return token

    def marker(self) -> str:
        """A new per-run marker word (what an obeyed injection makes the generator say), recorded in
        ``RunState.markers`` under this test's id."""
        word = self.state.new_marker()
        self.state.markers[word] = self.test_id
        return word

    def answer_mode(self) -> str:
        """The retrieval mode used for answer probes: hybrid when offered, else the first mode."""
        modes = self.caps.retrieval_modes
        return "hybrid" if "hybrid" in modes else modes[0]

    async def plant(
        self,
        text: str,
        tenant: str,
        *,
        source: str = "ragward-scan",
        classification: str = "internal",
        content: bytes | None = None,
        content_type: str = "text/plain",
    ) -> Planted:
        """Plant ``text`` in ``tenant``'s corpus; journaled before the target sees it.

        For a file, ``content`` is its bytes and ``content_type`` its MIME type
        (``application/pdf``); ``text`` is then the file's visible text, kept
        for evidence (see :class:`~ragward.targets.base.Document`). In a
        ``restricted`` document, every canary of this test that ``text``
        carries is recorded in ``RunState.restricted`` (before the target sees
        the document, so a concurrent test's answer can be checked for it).
        """
        doc_id = f"rw-{self.state.run_id[:8]}-{self.test_id.lower()}-{len(self.doc_ids)}"
        if classification == "restricted":
            for token in self.own_canaries:
                if token in text:
                    self.state.restricted.setdefault(token, self.test_id)
        self.state.journal.add(doc_id, tenant, self.state.run_id)
        self.state.planted[doc_id] = tenant
        self.doc_ids.append(doc_id)
        doc = Document(
            id=doc_id,
            text=text,
            tenant=tenant,
            metadata={"source": source, "classification": classification},
            content=content,
            content_type=content_type,
        )
        result = await self.target.ingest(doc)
        self.events.extend(result.events)
        return Planted(doc_id, tenant, result.accepted, list(result.events))

    async def retrieve(self, text: str, tenant: object, mode: str, top_k: int = 4) -> Response:
        """A retrieval probe; a target error becomes ``Response(error=...)``."""
        return await self._call("retrieve", Query(text=text, tenant=tenant, mode=mode, top_k=top_k))

    async def answer(self, text: str, tenant: object, mode: str | None = None, *, stream: bool = False) -> Response:
        """An answer probe in ``mode`` (default :meth:`answer_mode`); ``stream`` asks for a streamed answer
        (``Response.pieces``; ignored by targets without :attr:`~ragward.targets.base.Capability.STREAM`)."""
        query = Query(text=text, tenant=tenant, mode=mode or self.answer_mode(), stream=stream)
        return await self._call("answer", query)

    async def delete(self, doc_id: str) -> None:
        """Delete one planted document now (the deletion test), verifying nothing."""
        await self.target.delete(doc_id, self.state.planted[doc_id])

    async def _call(self, op: str, query: Query) -> Response:
        try:
            if op == "retrieve":
                response = await self.target.retrieve(query)
            else:
                response = await self.target.answer(query)
        except RagwardError as exc:
            return Response(error=exc.message)
        self.events.extend(response.events)
        return response
