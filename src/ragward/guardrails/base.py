"""The result type every guardrail returns, and the shared base class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from ragward.model import Action, GuardrailEvent, Layer

__all__ = ["Decision", "Guardrail", "strongest"]

_ACTION_RANK = {Action.ALLOW: 0, Action.FLAG: 1, Action.REDACT: 2, Action.BLOCK: 3}


def strongest(actions: Sequence[Action] | Sequence[GuardrailEvent]) -> Action:
    """The most restrictive action (BLOCK > REDACT > FLAG > ALLOW); ALLOW for none."""
    best = Action.ALLOW
    for item in actions:
        action = item.action if isinstance(item, GuardrailEvent) else item
        if _ACTION_RANK[action] > _ACTION_RANK[best]:
            best = action
    return best


@dataclass(frozen=True)
class Decision:
    """What a guardrail decided about one input.

    ``action`` is the strongest action among ``events`` (ALLOW when there are
    none); ``text`` is the text to pass on: unchanged for ALLOW and FLAG,
    rewritten for REDACT, a short refusal for a blocked answer, ``None`` for a
    blocked input (for a PDF given to the ingest scanner, the extracted visible
    text).
    """

    action: Action
    events: list[GuardrailEvent] = field(default_factory=list)
    text: str | None = None

    @property
    def allowed(self) -> bool:
        """True unless the action is BLOCK (FLAG and REDACT let the text through)."""
        return self.action is not Action.BLOCK


class Guardrail:
    """Base of the guardrails: a ``name`` and the pipeline ``layer`` it guards.

    Subclasses build their events with :meth:`event` so every event carries
    the guardrail's name and layer.
    """

    name: ClassVar[str] = "guardrail"
    layer: ClassVar[Layer] = Layer.CONTEXT

    def event(
        self,
        action: Action,
        reason: str,
        *,
        span: tuple[int, int] | None = None,
        score: float = 1.0,
        doc_id: str | None = None,
    ) -> GuardrailEvent:
        """A :class:`GuardrailEvent` from this guardrail (score in [0, 1])."""
        return GuardrailEvent(
            guardrail=self.name,
            layer=self.layer,
            action=action,
            reason=reason,
            score=min(1.0, max(0.0, score)),
            span=span,
            doc_id=doc_id,
        )

    def decide(self, events: list[GuardrailEvent], text: str | None, *, blocked_text: str | None = None) -> Decision:
        """A :class:`Decision` whose action is the strongest of ``events``.

        ``text`` is passed on unless the decision is BLOCK, which passes on
        ``blocked_text`` instead.
        """
        action = strongest(events)
        return Decision(action, events, blocked_text if action is Action.BLOCK else text)


def require_str(value: object, what: str) -> str:
    """``value`` if it is a str; raises TypeError naming ``what`` otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return value
