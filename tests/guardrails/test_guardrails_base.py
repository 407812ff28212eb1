"""Decision and the shared guardrail base."""

from __future__ import annotations

from ragward.guardrails import ContextSanitiser, Decision, IngestScanner, OutputFilter, TenantFilter
from ragward.guardrails.base import Guardrail, strongest
from ragward.model import Action, Layer


def test_decision_allowed_is_false_only_for_block() -> None:
    assert Decision(Action.ALLOW, []).allowed
    assert Decision(Action.FLAG, []).allowed
    assert Decision(Action.REDACT, [], "x").allowed
    assert not Decision(Action.BLOCK, []).allowed


def test_strongest_action() -> None:
    assert strongest([]) is Action.ALLOW
    assert strongest([Action.FLAG, Action.REDACT, Action.ALLOW]) is Action.REDACT
    assert strongest([Action.FLAG, Action.BLOCK, Action.REDACT]) is Action.BLOCK


def test_decide_uses_the_strongest_event_and_hides_blocked_text() -> None:
    class Probe(Guardrail):
        name = "probe"
        layer = Layer.MODEL

    probe = Probe()
    flag = probe.event(Action.FLAG, "f", score=3.0)
    assert flag.score == 1.0  # clamped to [0, 1]
    assert flag.guardrail == "probe" and flag.layer is Layer.MODEL
    assert probe.decide([flag], "text") == Decision(Action.FLAG, [flag], "text")
    block = probe.event(Action.BLOCK, "b")
    decided = probe.decide([flag, block], "text", blocked_text="refused")
    assert decided.action is Action.BLOCK
    assert decided.text == "refused"


def test_every_guardrail_declares_name_and_layer() -> None:
    expected: dict[type[Guardrail], tuple[str, Layer]] = {
        IngestScanner: ("ingest_scanner", Layer.INGEST),
        TenantFilter: ("tenant_filter", Layer.RETRIEVAL),
        ContextSanitiser: ("context_sanitiser", Layer.CONTEXT),
        OutputFilter: ("output_filter", Layer.OUTPUT),
    }
    for cls, (name, layer) in expected.items():
        assert (cls.name, cls.layer) == (name, layer)
