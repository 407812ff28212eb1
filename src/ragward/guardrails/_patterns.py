"""Deterministic signals of an instruction aimed at the model (private).

Indirect prompt injection (Greshake et al., arXiv 2302.12173; OWASP LLM01;
MITRE ATLAS AML.T0051.001) plants text in retrieved data that reads as an
instruction to the model. The phrase families below come from public attack
corpora and benchmarks: Perez & Ribeiro, "Ignore Previous Prompt" (2022,
arXiv 2211.09527); Liu et al., "Formalizing and Benchmarking Prompt Injection
Attacks and Defenses" (USENIX Security 2024, arXiv 2310.12815); Yi et al.,
BIPIA (arXiv 2312.14197); Zou et al., PoisonedRAG (arXiv 2402.07867, "always
recommend" style knowledge poisoning); Rehberger's markdown-image exfiltration
write-ups.

Matching runs on the folded text (NFKC, invisible characters removed,
homoglyphs mapped, lower case) so spacing tricks, zero-width characters and
look-alike letters do not hide a phrase; spans are mapped back to the
original text.

* *strong* patterns are instructions on their own ("ignore previous
  instructions", role markers, "reply with the word …");
* *weak* patterns ("from now on", "always recommend", "act as") are common in
  ordinary policies too; they count only when the same sentence addresses the
  model (assistant, AI, "every answer", "when asked", …), or when they sit in
  a hidden carrier or an encoded blob.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragward.engine.detectors._text import ZERO_WIDTH, Mapped, fold

# Separator between words: spaces, punctuation, markup, or nothing at all
# (words glued together once zero-width characters are removed).
S = r"[\W_]{0,6}"

_VERB = r"(?:ignore|disregard|forget|override|overrule|bypass|skip|abandon|discard|neglect)"
_FILLER = r"(?:the|of|these|those|any|every|my|about)"
_REQUIRED = (
    r"(?:previous|prior|preceding|above|earlier|former|original|initial|all|your|system"
    r"|developer|foregoing|everything)"
)
_QUAL = r"(?:previous|prior|preceding|above|earlier|other|given|existing|system|safety|old|the)"
_NOUN = (
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guidance|context"
    r"|commands?|messages?|constraints|policies|programming|orders|conversation|text|tasks?)"
)

STRONG: tuple[tuple[str, str], ...] = (
    (
        "override_instructions",
        rf"\b{_VERB}{S}(?:{_FILLER}{S}){{0,2}}{_REQUIRED}{S}(?:{_QUAL}{S}){{0,2}}{_NOUN}\b",
    ),
    ("override_instructions", rf"\b(?:ignore|disregard|forget){S}(?:the{S})?(?:above|foregoing)\b"),
    (
        "override_instructions",
        rf"\b(?:ignore|disregard|forget){S}(?:everything|all){S}(?:above|before|prior|else"
        rf"|you{S}(?:were|have{S}been){S}(?:told|given|instructed))\b",
    ),
    (
        "prompt_leak",
        r"\b(?:reveal|print|output|show|repeat|leak|disclose|display|dump)\W+(?:\w+\W+){0,3}?"
        r"(?:your|the)\W+(?:system\W+prompt|initial\W+instructions|hidden\W+instructions"
        r"|original\W+instructions)\b",
    ),
    (
        "addressed_to_model",
        r"\bwhen\W+(?:you\W+(?:are\W+)?)?(?:summari[sz]ing|summari[sz]e|reading|processing)\W+"
        r"(?:this|the)\W+(?:document|page|text|email|file|article|website|content)\b",
    ),
    (
        "answer_only_with",
        rf"\b(?:answer|respond|reply|output|return|say|write|print)"
        rf"(?:{S}(?:from{S}now{S}on|always|to{S}(?:every|each|all|any){S}\w+))?"
        rf"{S}(?:only|exclusively|solely){S}(?:with|using)\b",
    ),
    ("answer_only_with", rf"\bonly{S}(?:answer|respond|reply|output|say){S}(?:with|using)\b"),
    (
        "marker_word",
        r"\b(?:reply|respond|answer|say|output|write|repeat)\b"
        r"[^.\n]{0,40}?\b(?:the|this|exact)\W+(?:word|phrase|code\W?word)\b",
    ),
    (
        "marker_word",
        r"\b(?:start|begin|end|finish|conclude|prefix|suffix)\W+(?:your|every|each|all|the)\W+"
        r"(?:answers?|responses?|replies|reply|messages?)\W+with\b",
    ),
    ("role_marker", r"<\|(?:im_start|im_end|system|user|assistant|endoftext)\|>"),
    ("role_marker", r"\[/?inst\]|<</?sys>>"),
    ("role_marker", r"(?m)^\W{0,3}#{1,6}\W*(?:system|new)\W*(?:prompt|instructions?|message)\b"),
    (
        "role_override",
        r"\b(?:new|updated|revised|real|actual|hidden|secret|additional)\W+(?:system\W+)?"
        r"instructions?\W{0,3}:",
    ),
    ("role_override", r"\bsystem\W+(?:prompt|message|instructions?)\W*(?:override|update|:)"),
    ("role_override", rf"\byou{S}are{S}(?:now|no{S}longer)\b"),
    ("role_override", r"\b(?:god|dan|jailbreak|jailbroken|unrestricted|unfiltered)\W+mode\b"),
    (
        "addressed_to_model",
        r"\bnote\W+(?:to|for)\W+(?:the\W+|any\W+|all\W+)?(?:ai|assistants?|llms?|models?"
        r"|chat\W?bots?|language\W+models?|ai\W+assistants?)\b",
    ),
    (
        "addressed_to_model",
        r"\bif\W+you\W+are\W+(?:an?\W+)?(?:ai|assistant|llm|large\W+language\W+model"
        r"|language\W+model|chat\W?bot|gpt)\b",
    ),
    (
        "addressed_to_model",
        r"\b(?:ai|llm)\W+(?:assistants?|models?|agents?)\W*(?:reading|processing"
        r"|summari[sz]ing|that\W+reads?)\b",
    ),
    (
        "conceal_from_user",
        r"\b(?:do\W+not|don'?t|never)\W+(?:tell|inform|reveal\W+(?:this\W+)?to"
        r"|mention\W+(?:this\W+)?to|let)\W+the\W+user\b",
    ),
    (
        "always_recommend",
        r"(?:^|[.!?:;]\s+|\n\s*)\W{0,3}always\W+(?:recommend|promote|endorse)\b",
    ),
    (
        "override_instructions",
        r"\bignorier(?:e|en\W+sie)\W+(?:alle\W+)?(?:vorherigen|bisherigen|obigen|vorigen)\W+"
        r"(?:anweisungen|instruktionen|befehle)",
    ),
    (
        "override_instructions",
        r"\bignore[rz]?\W+(?:toutes\W+)?(?:les\W+)?(?:instructions|consignes)\W+"
        r"(?:précédentes|precedentes|ci-dessus|antérieures|anterieures)",
    ),
    (
        "override_instructions",
        r"\bignora(?:r)?\W+(?:todas\W+)?las\W+instrucciones\W+(?:anteriores|previas)",
    ),
)

WEAK: tuple[tuple[str, str], ...] = (
    ("from_now_on", rf"\bfrom{S}now{S}on\b"),
    (
        "always_recommend",
        r"\balways\W+(?:recommend|suggest|mention|answer|respond|reply|say|state|claim|include"
        r"|tell|direct|refer|promote|endorse)\b",
    ),
    ("never_mention", r"\bnever\W+(?:mention|reveal|disclose|say|tell|recommend|suggest)\b"),
    ("role_play", r"\b(?:act|behave|respond)\W+as\W+(?:if|though|an?|the)\b"),
    ("role_play", r"\bpretend\W+(?:to\W+be|you\W+are|that)\b|\brole\W?play\b"),
    (
        "instead_answer",
        r"\binstead\W+(?:of\W+\w+\W+)?(?:answer|respond|reply|say|tell|output|write)\b",
    ),
    ("role_label", r"(?m)^\W{0,3}(?:system|assistant)\W{0,3}:"),
    ("new_task", r"\byour\W+(?:new\W+)?(?:task|goal|job|role|purpose|objective)\W+is\b"),
)

CUES = re.compile(
    r"\b(?:assistants?|ai|a\.i\.|llms?|language\W+models?|chat\W?bots?|chatgpt|gpt-?\d*"
    r"|copilot|(?:the|this)\W+model|system\W+prompt|instructions?|the\W+user"
    r"|users?\W+(?:asks?|asking)|your\W+(?:answers?|responses?|replies|output|summary)"
    r"|(?:every|each|all|any)\W+(?:answers?|responses?|replies|questions?|queries)"
    r"|when\W+(?:you\W+are\W+)?(?:asked|answering|responding|replying|summari[sz]ing)"
    r"|this\W+conversation|whoever\W+asks|anyone\W+(?:who\W+)?asks?)\b"
)
_IMPERATIVE = re.compile(
    r"(?:^|[.!?:;\n]\s*)\W{0,3}(?:tell|say|respond|answer|reply|include|recommend|mention"
    r"|ignore|output|print|write|send|visit|state|claim|inform|append|add|insert|render"
    r"|translate|summari[sz]e)\b|\byou\W+(?:must|should|will|shall|are\W+to)\b"
)

_STRONG = tuple((code, re.compile(p)) for code, p in STRONG)
_WEAK = tuple((code, re.compile(p)) for code, p in WEAK)
_NEGATION = re.compile(r"(?:\bnot|\bnever|n't|\bno)\W{1,3}$")
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")

# Exfiltration instructions: a verb, a word for the answer, and an image/link
# to embed (Rehberger 2023).
_EXFIL_TARGET = re.compile(
    r"!\[[^\]\n]{0,200}\]\(|<img\b|\bmarkdown\W+image\b|\bimage\W+(?:tag|link|url)\b"
    r"|https?://\S+\.(?:png|gif|jpe?g|svg|webp|bmp|ico)\b"
    r"|https?://\S*[?&][\w.-]+=(?:\{|\[|<|\$|%7b|%5b|%3c)"
)
_EXFIL_VERB = re.compile(
    r"\b(?:append|add|include|insert|end|finish|conclude|attach|embed|render|output|put"
    r"|place|display|show)\b"
)
_EXFIL_NOUN = re.compile(
    r"\b(?:your|every|each|all|any|future|subsequent)\W+(?:future\W+|subsequent\W+)?"
    r"(?:answers?|responses?|replies|reply|summary|summaries|completions?|chat\W+messages?)\b"
)
_PLACEHOLDER_IMAGE = re.compile(
    r"(?:!\[[^\]\n]{0,200}\]\(\s*|<img\b[^>]{0,500}?src\s*=\s*[\"']?)https?://[^\s)\"'>]*"
    r"[?&][\w.-]{0,30}=(?:\{[^}]{1,60}\}|\[[a-z_ ]{1,40}\]|<[a-z_ ]{1,40}>|\$[a-z_]{2,40}|%7b|%5b)"
)


@dataclass(frozen=True)
class Signal:
    """One instruction signal: ``code`` (e.g. ``override_instructions``), whether it
    is ``strong`` on its own, and its ``[start, end)`` span in the scanned text."""

    code: str
    strong: bool
    span: tuple[int, int]


def _sentence(text: str, start: int, end: int) -> str:
    left = 0
    for m in _SENTENCE_END.finditer(text, max(0, start - 400), start):
        left = m.end()
    right_m = _SENTENCE_END.search(text, end)
    right = right_m.start() if right_m else len(text)
    return text[left:right]


def _negated(text: str, start: int) -> bool:
    return _NEGATION.search(text, max(0, start - 12), start) is not None


def instruction_signals(text: str, *, lenient: bool = False) -> list[Signal]:
    """Signals of an instruction to the model in ``text``, spans in ``text``.

    With ``lenient`` (for hidden carriers and decoded blobs, where any
    instruction is suspect) weak phrases count without a cue, and a cue word
    next to an imperative counts too.
    """
    out = _signals(fold(text), lenient)
    if any(c in ZERO_WIDTH for c in text):
        # Zero-width characters may stand for spaces ("ignore\u200bprevious") or
        # split letters ("i\u200bg\u200bn…"): scan both readings. The
        # replacement keeps offsets, so spans stay valid.
        spaced = "".join(" " if c in ZERO_WIDTH else c for c in text)
        out += _signals(fold(spaced), lenient)
    return _dedupe(out)


def _signals(mapped: Mapped, lenient: bool) -> list[Signal]:
    folded = mapped.text
    out: list[Signal] = []
    for code, pattern in _STRONG:
        for m in pattern.finditer(folded):
            if m.end() > m.start() and not _negated(folded, m.start()):
                out.append(Signal(code, True, _span(mapped, m.start(), m.end())))
    for code, pattern in _WEAK:
        for m in pattern.finditer(folded):
            if m.end() <= m.start() or _negated(folded, m.start()):
                continue
            if lenient or CUES.search(_sentence(folded, m.start(), m.end())):
                out.append(Signal(code, lenient, _span(mapped, m.start(), m.end())))
    out.extend(_exfiltration_signals(mapped))
    if lenient and not out:
        cue = CUES.search(folded)
        imperative = _IMPERATIVE.search(folded)
        if cue and imperative:
            first = min(cue.start(), imperative.start())
            last = max(cue.end(), imperative.end())
            out.append(Signal("addressed_to_model", True, _span(mapped, first, last)))
    return out


def _exfiltration_signals(mapped: Mapped) -> list[Signal]:
    folded = mapped.text
    out: list[Signal] = []
    for m in _EXFIL_TARGET.finditer(folded):
        window = folded[max(0, m.start() - 250) : m.end() + 60]
        if _EXFIL_VERB.search(window) and _EXFIL_NOUN.search(window):
            out.append(Signal("exfiltration_instruction", True, _span(mapped, m.start(), m.end())))
    for m in _PLACEHOLDER_IMAGE.finditer(folded):
        out.append(Signal("exfiltration_template", True, _span(mapped, m.start(), m.end())))
    # One signal per place: overlapping targets merge into the first code found.
    merged: list[Signal] = []
    for sig in sorted(out, key=lambda s: s.span):
        if merged and sig.span[0] < merged[-1].span[1]:
            last = merged[-1]
            merged[-1] = Signal(last.code, True, (last.span[0], max(last.span[1], sig.span[1])))
        else:
            merged.append(sig)
    return merged


def _span(mapped: Mapped, start: int, end: int) -> tuple[int, int]:
    # Leading separators matched by a pattern are not part of the phrase.
    while start < end - 1 and not mapped.text[start].isalnum() and mapped.text[start] not in "<![":
        start += 1
    return mapped.span(start, end)


def _dedupe(signals: list[Signal]) -> list[Signal]:
    kept: list[Signal] = []
    for sig in sorted(signals, key=lambda s: (not s.strong, s.span)):
        if any(sig.code == k.code and sig.span[0] < k.span[1] and k.span[0] < sig.span[1] for k in kept):
            continue
        kept.append(sig)
    kept.sort(key=lambda s: s.span)
    return kept
