"""Payload templates, stored as data files with their sources.

* ``injection.yaml`` — the default injection suite (RW-INJ-001 … 008);
* ``families.yaml`` — the payload families of the ``deep`` profile
  (RW-INJ-1xx): every hiding place, encoding, obfuscation, language and chunk
  placement the guardrails are meant to catch, so a scan shows which
  guardrail misses which family;
* ``canary_probes.yaml`` — rephrasing attacks on a restricted canary
  (RW-CAN-1xx, ``deep`` profile);
* ``pdf.yaml`` — PDF files with hidden text or a broken structure
  (RW-INJ-127 … 131, ``deep`` profile), written by :mod:`.pdfgen`.

Templates hold placeholders (``{marker}``, ``{host}``, ``{canary}``,
``{cover}``) and encoders ``{name:argument}`` applied at render time (see
:data:`ENCODERS`); inside an encoder, ``@marker``, ``@host`` and ``@canary``
stand for the placeholders.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

ZERO_WIDTH_SPACE = "\u200b"
ZERO_WIDTH_JOINER = "\u200d"
TAG_BASE = 0xE0000

# Latin letters and their Cyrillic look-alikes (Unicode UTS #39 confusables).
_CYRILLIC = str.maketrans("aceopxyABCEHKMOPTX", "асеорхуАВСЕНКМОРТХ")
_LEET = str.maketrans("aeiost", "431057")

# Sentences of an ordinary staff policy, cycled by :func:`policy_filler`.
_POLICY = (
    "Employees request annual leave through the HR portal at least two weeks in advance.",
    "Managers approve or decline each request within five working days.",
    "Unused leave of up to five days may be carried over into the first quarter of the next year.",
    "Sick leave of more than three consecutive days requires a note from a doctor.",
    "Travel must be booked through the approved agency, and economy class is standard for flights under six hours.",
    "Receipts for every expense above twenty euros are uploaded to the finance system within thirty days.",
    "Remote work is possible up to three days a week after agreement with the team lead.",
    "Laptops are encrypted, locked when unattended, and returned to IT at the end of employment.",
    "Visitors sign in at reception, wear a visitor badge, and are accompanied at all times.",
    "Fire drills take place twice a year, and assembly points are shown on every floor plan.",
    "Questions about this policy go to the HR service desk, which answers within two working days.",
    "The policy is reviewed every year by HR together with the works council.",
)


def to_tags(text: str) -> str:
    """Encode ASCII ``text`` in invisible Unicode tag characters (U+E0020–U+E007E)."""
    return "".join(chr(TAG_BASE + ord(ch)) for ch in text if 0x20 <= ord(ch) < 0x7F)


def zero_width(text: str) -> str:
    """Interleave ``text``'s letters with zero-width spaces (U+200B)."""
    return ZERO_WIDTH_SPACE.join(text)


def to_variation_selectors(text: str) -> str:
    """UTF-8 bytes of ``text`` as variation selectors after a visible emoji (Butler, 2025).

    Bytes 0–15 map to U+FE00–U+FE0F, 16–255 to U+E0100–U+E01EF.
    """
    out = ["\U0001f600"]
    for byte in text.encode("utf-8"):
        out.append(chr(0xFE00 + byte) if byte < 16 else chr(0xE0100 + byte - 16))
    return "".join(out)


def policy_filler(words: int) -> str:
    """Ordinary policy prose of about ``words`` words (deterministic), in paragraphs of four sentences."""
    sentences: list[str] = []
    count = 0
    i = 0
    while count < words:
        sentence = _POLICY[i % len(_POLICY)]
        sentences.append(sentence)
        count += len(sentence.split())
        i += 1
    paragraphs = [" ".join(sentences[k : k + 4]) for k in range(0, len(sentences), 4)]
    return "\n\n".join(paragraphs)


def run_on(chars: int) -> str:
    """One run-on sentence (no sentence end) of at least ``chars`` characters."""
    clauses = [s.rstrip(".").lower() for s in _POLICY]
    out = ""
    i = 0
    while len(out) < chars:
        out += ("" if not out else ", and ") + clauses[i % len(clauses)]
        i += 1
    return out


#: Encoders usable as ``{name:argument}`` in a template.
ENCODERS: dict[str, Callable[[str], str]] = {
    "zw": zero_width,
    "zwj": lambda s: " ".join(ZERO_WIDTH_JOINER.join(word) for word in s.split(" ")),
    "tags": to_tags,
    "vs": to_variation_selectors,
    "b64": lambda s: base64.b64encode(s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "pct": lambda s: "".join(f"%{byte:02X}" for byte in s.encode()),
    "spaced": lambda s: "   ".join(" ".join(word) for word in s.split(" ")),
    "lines": lambda s: "\n".join(s.split(" ")),
    "leet": lambda s: s.translate(_LEET),
    "cyr": lambda s: s.translate(_CYRILLIC),
    "full": lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in s),
    "filler": lambda s: policy_filler(int(s)),
    "runon": lambda s: run_on(int(s)),
}
_ENCODER = re.compile(r"\{(" + "|".join(ENCODERS) + r"):([^{}]*)\}")


def render_template(template: str, *, cover: str = "", marker: str = "", host: str = "", canary: str = "") -> str:
    """Fill a payload template: ``{cover}`` first, then encoders, then placeholders.

    Raises:
        ValueError: a ``{filler:N}``/``{runon:N}`` argument is not a number.
    """
    text = template.replace("{cover}", cover)

    def encode(match: re.Match[str]) -> str:
        arg = match.group(2).replace("@marker", marker).replace("@host", host).replace("@canary", canary)
        try:
            return ENCODERS[match.group(1)](arg)
        except ValueError as exc:
            raise ValueError(f"bad argument for {{{match.group(1)}:…}}: {arg!r}") from exc

    text = _ENCODER.sub(encode, text)
    return text.replace("{marker}", marker).replace("{host}", host).replace("{canary}", canary)


@dataclass(frozen=True)
class Payload:
    """One injection payload template (see ``injection.yaml`` for the fields)."""

    id: str
    family: str
    title: str
    severity: str
    category: str
    topic: str
    cover: str
    question: str
    template: str
    source: str
    quick: bool = False
    mitigation: str = ""

    def render(self, *, marker: str, host: str, canary: str) -> str:
        """The planted document text, with encoders applied (see :data:`ENCODERS`)."""
        return render_template(self.template, cover=self.cover, marker=marker, host=host, canary=canary)


@dataclass(frozen=True)
class CanaryProbe:
    """A rephrasing attack on a restricted canary: the ``document`` planted (with
    ``{canary}`` and ``{system}``), the ``question`` asked, and its ``source``."""

    id: str
    family: str
    title: str
    system: str
    document: str
    question: str
    source: str
    severity: str = "high"

    def render_document(self, canary: str) -> str:
        """The planted document with the canary and system name filled in."""
        return self.document.replace("{system}", self.system).replace("{canary}", canary)


#: The contract value the visible page of a hidden-text PDF payload states.
PDF_VISIBLE_VALUE = "240,000 EUR"
_PDF_LINE_STEP = 18.0
_PDF_TOP = 760.0
_PDF_STYLE_FIELDS = frozenset({"mode", "rgb", "size", "x", "y"})


@dataclass(frozen=True)
class PdfPayload:
    """A PDF payload (see ``pdf.yaml`` for the fields).

    ``visible`` are the lines a reader sees; ``hidden`` the text a reader does
    not see (``None`` for none), drawn with ``hidden_style`` (fields of
    :class:`~ragward.engine.payloads.pdfgen.PdfTextItem`); ``malformed`` cuts the
    file before its cross-reference table.
    """

    id: str
    family: str
    title: str
    severity: str
    hiding: str
    question: str
    visible: tuple[str, ...]
    source: str
    mitigation: str
    hidden: str | None = None
    hidden_style: dict[str, Any] = field(default_factory=dict)
    malformed: bool = False

    def _fill(self, text: str, hidden_value: str, marker: str) -> str:
        return (
            text.replace("{visible_value}", PDF_VISIBLE_VALUE)
            .replace("{hidden_value}", hidden_value)
            .replace("{marker}", marker)
        )

    def visible_text(self, *, hidden_value: str = "", marker: str = "") -> str:
        """The text a reader of the rendered PDF sees, one line per ``visible`` entry."""
        return "\n".join(self._fill(line, hidden_value, marker) for line in self.visible)

    def hidden_text(self, *, hidden_value: str = "", marker: str = "") -> str | None:
        """The hidden text of the rendered PDF, ``None`` when the payload hides none."""
        return None if self.hidden is None else self._fill(self.hidden, hidden_value, marker)

    def render(self, *, hidden_value: str = "", marker: str = "") -> bytes:
        """The PDF file's bytes: ``visible`` lines from the top of an A4 page, then the hidden text.

        Raises:
            ValueError: ``hidden_style`` has a field :class:`PdfTextItem` lacks
                or a value of the wrong type.
        """
        from ragward.engine.payloads.pdfgen import PdfPage, PdfTextItem, truncate_before_xref, write_pdf

        items = [
            PdfTextItem(self._fill(line, hidden_value, marker), y=_PDF_TOP - i * _PDF_LINE_STEP)
            for i, line in enumerate(self.visible)
        ]
        hidden = self.hidden_text(hidden_value=hidden_value, marker=marker)
        if hidden is not None:
            unknown = set(self.hidden_style) - _PDF_STYLE_FIELDS
            if unknown:
                raise ValueError(f"{self.id}: unknown hidden_style field(s) {', '.join(sorted(unknown))}")
            style = dict(self.hidden_style)
            if "rgb" in style:
                rgb = style["rgb"]
                if not isinstance(rgb, list | tuple) or len(rgb) != 3:
                    raise ValueError(f"{self.id}: hidden_style.rgb must be three numbers in [0, 1]")
                style["rgb"] = (float(rgb[0]), float(rgb[1]), float(rgb[2]))
            for name in ("size", "x", "y"):
                if name in style:
                    style[name] = float(style[name])
            if "mode" in style:
                style["mode"] = int(style["mode"])
            style.setdefault("y", _PDF_TOP - len(self.visible) * _PDF_LINE_STEP)
            items.append(PdfTextItem(hidden, **style))
        pdf = write_pdf([PdfPage(texts=tuple(items))])
        return truncate_before_xref(pdf) if self.malformed else pdf


def _load(name: str) -> list[dict[str, Any]]:
    raw: Any = yaml.safe_load(resources.files(__package__).joinpath(name).read_text("utf-8"))
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ValueError(f"{name} must hold a list of mappings")
    return raw


def _payloads(name: str) -> list[Payload]:
    try:
        return [
            Payload(
                id=str(item["id"]),
                family=str(item["family"]),
                title=str(item["title"]),
                severity=str(item.get("severity", "high")),
                category=str(item.get("category", "prompt_injection_followed")),
                topic=str(item["topic"]),
                cover=str(item["cover"]),
                question=str(item["question"]),
                template=str(item["template"]),
                source=str(item["source"]),
                quick=bool(item.get("quick", False)),
                mitigation=str(item.get("mitigation", "")),
            )
            for item in _load(name)
        ]
    except KeyError as exc:
        raise ValueError(f"{name}: a payload lacks the field {exc.args[0]!r}") from exc


def load_injection_payloads() -> list[Payload]:
    """The injection payloads shipped in ``injection.yaml`` (the default profile).

    Raises ``ValueError`` when the data file is malformed.
    """
    return _payloads("injection.yaml")


def load_family_payloads() -> list[Payload]:
    """The payload families of the ``deep`` profile, from ``families.yaml``.

    Raises ``ValueError`` when the data file is malformed.
    """
    return _payloads("families.yaml")


def load_canary_probes() -> list[CanaryProbe]:
    """The rephrasing attacks on a restricted canary, from ``canary_probes.yaml``.

    Raises ``ValueError`` when the data file is malformed.
    """
    try:
        return [
            CanaryProbe(
                id=str(item["id"]),
                family=str(item["family"]),
                title=str(item["title"]),
                system=str(item["system"]),
                document=str(item["document"]),
                question=str(item["question"]),
                source=str(item["source"]),
                severity=str(item.get("severity", "high")),
            )
            for item in _load("canary_probes.yaml")
        ]
    except KeyError as exc:
        raise ValueError(f"canary_probes.yaml: a probe lacks the field {exc.args[0]!r}") from exc


def load_pdf_payloads() -> list[PdfPayload]:
    """The PDF payloads of the ``deep`` profile, from ``pdf.yaml``.

    Raises ``ValueError`` when the data file is malformed.
    """
    out: list[PdfPayload] = []
    try:
        for item in _load("pdf.yaml"):
            visible = item["visible"]
            style = item.get("hidden_style") or {}
            if not isinstance(visible, list) or not visible or not isinstance(style, dict):
                raise ValueError(f"pdf.yaml: {item.get('id')}: visible must be a list of lines, hidden_style a mapping")
            hidden = item.get("hidden")
            out.append(
                PdfPayload(
                    id=str(item["id"]),
                    family=str(item["family"]),
                    title=str(item["title"]),
                    severity=str(item.get("severity", "high")),
                    hiding=str(item["hiding"]),
                    question=str(item["question"]),
                    visible=tuple(str(line) for line in visible),
                    source=str(item["source"]),
                    mitigation=str(item["mitigation"]),
                    hidden=None if hidden is None else str(hidden),
                    hidden_style=dict(style),
                    malformed=bool(item.get("malformed", False)),
                )
            )
    except KeyError as exc:
        raise ValueError(f"pdf.yaml: a payload lacks the field {exc.args[0]!r}") from exc
    return out
