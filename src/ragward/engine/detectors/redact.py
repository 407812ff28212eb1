"""Redaction of secrets in evidence text.

Reports and findings must never republish a full canary token or credential:
every occurrence is shown as its first 4 characters, an ellipsis and its last
2 characters (``RWC7K2M9Q4X8T1B6`` → ``RWC7…B6``), enough to recognise it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["mask", "redact"]

ELLIPSIS = "…"


def mask(value: str) -> str:
    """Mask one secret value: first 4 chars + "…" + last 2 chars.

    Values shorter than 8 characters would be almost fully revealed that way,
    so they become a bare "…".
    """
    if len(value) < 8:
        return ELLIPSIS
    return value[:4] + ELLIPSIS + value[-2:]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every case-insensitive occurrence of each secret in ``text`` by its mask.

    The secrets are matched as literals (never as regular expressions), longest
    first so a secret that contains another is masked whole; the mask keeps the
    case of the occurrence. Empty secrets are ignored.

    Raises:
        TypeError: ``text`` is not a str, or a secret is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if isinstance(secrets, str):
        raise TypeError("secrets must be an iterable of str, not a single str")
    values: set[str] = set()
    for secret in secrets:
        if not isinstance(secret, str):
            raise TypeError(f"each secret must be str, not {type(secret).__name__}")
        if secret:
            values.add(secret)
    if not values or not text:
        return text
    pattern = re.compile(
        "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)),
        re.IGNORECASE,
    )
    return pattern.sub(lambda m: mask(m.group()), text)
