"""Attribution: which guardrail, at which layer, stopped (or missed) an attack.

The rule, in order:

1. A stopping event (block or redact) from the target, tied to this test (no
   ``doc_id`` or one of the test's planted documents), names ``caught_by`` and
   ``layer``; with several, the earliest layer in the pipeline wins
   (ingest → retrieval → context → model → output).
2. Without one, the layer is inferred from what the test observed
   (``Verdict.stage``: not retrieved → retrieval; retrieved but absent from the
   answer → model; and so on) and ``layer_inferred`` is set.

Events that only flagged are kept in the evidence; they never count as a catch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragward.model import GuardrailEvent, Layer

PIPELINE_ORDER: tuple[Layer, ...] = (
    Layer.INGEST,
    Layer.RETRIEVAL,
    Layer.CONTEXT,
    Layer.MODEL,
    Layer.OUTPUT,
)


@dataclass(frozen=True)
class Attribution:
    """``caught_by`` is a guardrail name or ``None``; ``inferred`` marks an inferred layer."""

    caught_by: str | None
    layer: Layer | None
    inferred: bool


def relevant(events: list[GuardrailEvent], doc_ids: list[str]) -> list[GuardrailEvent]:
    """Events tied to the test: request-level ones and those naming its documents."""
    own = set(doc_ids)
    return [e for e in events if e.doc_id is None or e.doc_id in own]


def attribute(
    events: list[GuardrailEvent],
    doc_ids: list[str],
    *,
    failed: bool,
    stage: Layer | None,
) -> Attribution:
    """Attribute a test outcome to a guardrail and layer (rules in the module docstring).

    A failed test has no ``caught_by``: its layer is where the attack was seen
    to get through (always inferred from observation).
    """
    if failed:
        return Attribution(None, stage, stage is not None)
    stopping = [e for e in relevant(events, doc_ids) if e.stopped]
    if stopping:
        first = min(stopping, key=lambda e: PIPELINE_ORDER.index(e.layer))
        return Attribution(first.guardrail, first.layer, False)
    return Attribution(None, stage, stage is not None)
