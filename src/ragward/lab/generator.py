"""Answer generation: system prompt + assembled context + question, through the chat model.

The prompt follows the common RAG template (Lewis et al., "Retrieval-Augmented
Generation for Knowledge-Intensive NLP Tasks", NeurIPS 2020): a system prompt
naming the assistant's company, then the retrieved passages, then the question.
How the passages are rendered is the pipeline's choice: pasted as-is (the
``no_context_sanitising`` flaw) or sanitised and wrapped in a delimited,
datamarked block (:meth:`ragward.guardrails.ContextSanitiser.wrap`). The
rendered prompt is kept within the model's context window by dropping the
lowest-ranked passages, then truncating the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from ragward.lab.models import LLM_MAX_TOKENS, ChatModel

__all__ = ["SYSTEM_PROMPT", "Generator", "Passage", "render_plain"]

Passage = tuple[str, str]
"""``(doc_id, text)`` of one retrieved chunk, best first."""

SYSTEM_PROMPT = (
    "You are the internal knowledge assistant of {company}. Answer the employee's question "
    "using the context documents. Be brief and factual. If the context does not contain the "
    "answer, say that you do not know."
)

_NO_CONTEXT = "(no documents found)"
_PROMPT_MARGIN = 48  # tokens kept free for the chat template's special tokens


def render_plain(passages: Sequence[Passage]) -> str:
    """Passages pasted one after the other, as-is, with no delimiting (the vulnerable behaviour)."""
    return "\n\n".join(text.strip() for _, text in passages)


class Generator:
    """Builds the prompt and asks ``model`` for an answer of at most ``max_tokens`` tokens."""

    def __init__(self, model: ChatModel, *, max_tokens: int = LLM_MAX_TOKENS) -> None:
        """Raises ``ValueError`` when ``max_tokens`` is below 1 or leaves no room for a prompt."""
        if not 1 <= max_tokens < model.n_ctx - 2 * _PROMPT_MARGIN:
            raise ValueError(f"max_tokens must be in [1, {model.n_ctx - 2 * _PROMPT_MARGIN}), got {max_tokens}")
        self.model = model
        self.max_tokens = max_tokens

    def messages(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        company: str,
        render: Callable[[Sequence[Passage]], str] = render_plain,
    ) -> list[dict[str, str]]:
        """The chat messages for ``question``, fitted to the model's context window."""
        system = SYSTEM_PROMPT.format(company=company)
        budget = self.model.n_ctx - self.max_tokens - _PROMPT_MARGIN

        def build(kept: Sequence[Passage]) -> list[dict[str, str]]:
            context = render(kept) if kept else _NO_CONTEXT
            return [
                {"role": "system", "content": system},
                {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"},
            ]

        def size(msgs: list[dict[str, str]]) -> int:
            return sum(self.model.count_tokens(m["content"]) + 4 for m in msgs)

        kept = list(passages)
        msgs = build(kept)
        while kept and size(msgs) > budget:
            if len(kept) > 1:
                kept.pop()
            else:
                doc_id, text = kept[0]
                shorter = text[: int(len(text) * 0.8)]
                kept = [(doc_id, shorter)] if len(shorter) >= 40 else []
            msgs = build(kept)
        if size(msgs) > budget:
            raise ValueError("the question alone does not fit in the model's context window")
        return msgs

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        company: str,
        render: Callable[[Sequence[Passage]], str] = render_plain,
    ) -> str:
        """The model's answer to ``question`` given ``passages`` (best first); deterministic."""
        msgs = self.messages(question, passages, company=company, render=render)
        return self.model.chat(msgs, max_tokens=self.max_tokens)

    def stream(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        company: str,
        render: Callable[[Sequence[Passage]], str] = render_plain,
    ) -> Iterator[str]:
        """:meth:`answer` streamed: the model's pieces as it produces them (joined, the same answer).

        The prompt is built before the first piece; close the iterator if it is not consumed to the end
        (the model stays locked until then).
        """
        msgs = self.messages(question, passages, company=company, render=render)
        return self.model.chat_stream(msgs, max_tokens=self.max_tokens)
