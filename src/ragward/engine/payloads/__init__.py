"""Payload templates, stored as data files with their sources."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

ZERO_WIDTH_SPACE = "\u200b"
TAG_BASE = 0xE0000


def to_tags(text: str) -> str:
    """Encode ASCII ``text`` in invisible Unicode tag characters (U+E0020–U+E007E)."""
    return "".join(chr(TAG_BASE + ord(ch)) for ch in text if 0x20 <= ord(ch) < 0x7F)


def zero_width(text: str) -> str:
    """Interleave ``text``'s letters with zero-width spaces (U+200B)."""
    return ZERO_WIDTH_SPACE.join(text)


@dataclass(frozen=True)
class Payload:
    """One payload template (see ``injection.yaml`` for the fields)."""

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

    def render(self, *, marker: str, host: str, canary: str) -> str:
        """The planted document text, with encoders applied (``{zw:…}``, ``{tags:…}``, ``{b64:…}``)."""
        text = self.template.replace("{cover}", self.cover)

        def encode(match: re.Match[str]) -> str:
            kind, arg = match.group(1), match.group(2).replace("@marker", marker)
            if kind == "zw":
                return zero_width(arg)
            if kind == "tags":
                return to_tags(arg)
            return base64.b64encode(arg.encode()).decode()

        text = re.sub(r"\{(zw|tags|b64):([^}]*)\}", encode, text)
        return text.replace("{marker}", marker).replace("{host}", host).replace("{canary}", canary)


def load_injection_payloads() -> list[Payload]:
    """The injection payloads shipped in ``injection.yaml``.

    Raises ``ValueError`` when the data file is malformed.
    """
    raw: Any = yaml.safe_load(resources.files(__package__).joinpath("injection.yaml").read_text("utf-8"))
    if not isinstance(raw, list):
        raise ValueError("injection.yaml must hold a list of payloads")
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
        )
        for item in raw
    ]
