"""Output filter: stop answers that leak secrets or carry exfiltration links.

The last line of defence (OWASP LLM02 "Sensitive Information Disclosure" and
LLM05 "Improper Output Handling"): whatever the retrieval and the model did,
an answer that holds a restricted secret (canary token, credential) in any
form :func:`~ragward.engine.detectors.canary.find_canary` knows, or a link or
image that would carry data to an outside host (Rehberger, "Data exfiltration
via markdown image rendering", Embrace The Red, 2023), is replaced by a short
refusal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ragward.engine.detectors.canary import find_canary, is_canary
from ragward.engine.detectors.exfiltration import exfiltration_links
from ragward.engine.detectors.redact import mask, redact
from ragward.guardrails.base import Decision, Guardrail, require_str
from ragward.model import Action, GuardrailEvent, Layer

__all__ = ["OutputFilter"]

REFUSAL = (
    "I can't give that answer: it contained restricted information or a link to an outside site, and was withheld."
)
MIN_SECRET = 6

# Well-known credential formats (public secret-scanning rule sets: GitHub secret
# scanning, gitleaks, truffleHog).
_KNOWN_KEYS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}"
    r"|sk_(?:live|test)_[A-Za-z0-9]{10,}|rk_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r")(?![A-Za-z0-9_-])"
)
_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{10,}(?![A-Za-z0-9_-])")
_TRANSITION = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def _credential_like(token: str) -> bool:
    if is_canary(token):
        return True
    letters = sum(c.isalpha() for c in token)
    digits = sum(c.isdigit() for c in token)
    if letters < 2 or digits < 2:
        return False
    transitions = len(_TRANSITION.findall(token.replace("-", "").replace("_", "")))
    # Random keys switch between letters and digits often; words glued to a
    # year or a number ("compliance-2024", "INV-2024-00123") do not.
    return transitions >= 3 or (len(token) >= 20 and transitions >= 2)


def _key_like(fragment: str) -> bool:
    """True when a fragment switches between letters and digits like key material
    ("4f9a2c7e"), not like words next to a number ("staging 4")."""
    compact = "".join(c for c in fragment if c.isalnum())
    return len(_TRANSITION.findall(compact)) >= 2


class OutputFilter(Guardrail):
    """Block answers that leak a secret or hold an exfiltration link.

    Args:
        allowed_hosts: hosts (and their subdomains) answers may link to or
            show images from, e.g. ``["docs.example.com"]``.

    Raises:
        TypeError: ``allowed_hosts`` is a str or holds a non-str.
    """

    name = "output_filter"
    layer = Layer.OUTPUT
    refusal = REFUSAL

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        if isinstance(allowed_hosts, str):
            raise TypeError("allowed_hosts must be an iterable of str, not a str")
        self.allowed_hosts = tuple(require_str(h, "allowed host") for h in allowed_hosts)

    def check(self, answer: str, *, secrets: Iterable[str] = ()) -> Decision:
        """Check one answer before it is shown.

        Args:
            answer: the model's answer (markdown, HTML or plain text).
            secrets: canary tokens and credentials that must not appear, e.g.
                :meth:`secret_candidates` of the restricted chunks retrieved.
                Any match kind counts, fragments included (for secrets other
                than canary tokens a fragment counts only when it switches
                between letters and digits at least twice, like key material;
                otherwise it is likely ordinary words around a number).

        Returns:
            BLOCK with ``text`` = a short refusal and one event per leak and
            per exfiltration link (reasons show secrets masked); ALLOW with
            the answer unchanged otherwise.

        Raises:
            TypeError: ``answer`` is not a str, ``secrets`` is a str or holds a non-str.
            ValueError: a secret is shorter than 6 characters (it would match
                ordinary words).
        """
        require_str(answer, "answer")
        values = self._secrets(secrets)
        events = self._events(answer, values)
        return self.decide(events, answer, blocked_text=self.refusal)

    def _events(self, answer: str, values: list[str], offset: int = 0) -> list[GuardrailEvent]:
        """Leak and exfiltration events for ``answer``, spans shifted by ``offset``."""
        events: list[GuardrailEvent] = []
        for secret in values:
            canary = is_canary(secret)
            for match in find_canary(answer, secret):
                if match.is_fragment and not canary and not _key_like(answer[match.span[0] : match.span[1]]):
                    continue
                events.append(
                    self.event(
                        Action.BLOCK,
                        f"secret_leak: {match.kind.value} match of {mask(secret)} in {match.excerpt!r} (OWASP LLM02)",
                        span=(match.span[0] + offset, match.span[1] + offset),
                    )
                )
        for link in exfiltration_links(answer, allowed_hosts=self.allowed_hosts, canaries=values):
            url = redact(link.url, values)
            url = url if len(url) <= 120 else url[:119] + "…"
            events.append(
                self.event(
                    Action.BLOCK,
                    f"exfiltration_link: {link.kind.value} to outside host {link.host!r}: {url} (OWASP LLM02/LLM05)",
                    span=(link.span[0] + offset, link.span[1] + offset),
                )
            )
        events.sort(key=lambda e: e.span or (0, 0))
        return events

    def stream(self, *, secrets: Iterable[str] = ()) -> OutputStream:
        """A filter for an answer streamed in chunks (server-sent events, websockets).

        The client must only ever receive text the filter has checked: feed
        each chunk the model produces to :meth:`OutputStream.feed` and send on
        the ``text`` of the decision it returns; call :meth:`OutputStream.close`
        at the end and send its ``text`` too. The stream holds back the last
        ``len(longest secret) - 1`` characters, and any link or image whose
        syntax is still open, so a secret split across two chunks is caught
        before any of it is delivered.

        Args:
            secrets: as in :meth:`check`.

        Raises:
            TypeError, ValueError: as :meth:`check`.
        """
        return OutputStream(self, self._secrets(secrets))

    def _secrets(self, secrets: Iterable[str]) -> list[str]:
        if isinstance(secrets, str):
            raise TypeError("secrets must be an iterable of str, not a single str")
        values: list[str] = []
        for secret in secrets:
            require_str(secret, "secret")
            if len(secret) < MIN_SECRET:
                raise ValueError(f"secret {mask(secret)!r} is shorter than {MIN_SECRET} characters")
            if secret not in values:
                values.append(secret)
        return values

    @staticmethod
    def secret_candidates(text: str) -> list[str]:
        """Credential-like tokens in a document, in order of first appearance.

        Picks well-known key formats (``sk-…``, ``AKIA…``, ``ghp_…``,
        ``xoxb-…``, ``AIza…``, JWTs, canary tokens) and other tokens of 10+
        characters of ``[A-Za-z0-9_-]`` that mix letters and digits the way
        random keys do (at least 2 of each and several letter/digit
        switches), so words glued to a year or an invoice number are not
        taken for secrets.

        Raises:
            TypeError: ``text`` is not a str.
        """
        require_str(text, "text")
        found: list[str] = []
        for m in _KNOWN_KEYS.finditer(text):
            if m.group() not in found:
                found.append(m.group())
        for m in _TOKEN.finditer(text):
            token = m.group()
            if token not in found and _credential_like(token):
                found.append(token)
        order = {value: text.find(value) for value in found}
        return sorted(found, key=lambda v: order[v])


# An opening of link or image syntax whose end has not arrived yet.
_OPEN_LINK = re.compile(
    r"!?\[[^\]\n]*\Z|!?\[[^\]\n]*\]\([^)\n]*\Z|<[A-Za-z!/][^>]*\Z|^[ ]{0,3}\[[^\]\n]*\]:[^\n]*\Z"
    r"|(?:https?|ftp)://\S*\Z|\bwww\.\S*\Z",
    re.MULTILINE | re.IGNORECASE,
)
#: Characters before the release point that are checked again with each chunk.
RECHECK_CHARS = 4096


class OutputStream:
    """The streaming form of :class:`OutputFilter` (see :meth:`OutputFilter.stream`).

    Every :meth:`feed` re-checks the text not yet released plus the last
    :data:`RECHECK_CHARS` characters before it, so the cost per chunk is
    bounded; :meth:`close` checks the whole answer once more. When a leak is
    found only after part of it was already delivered (an encoded form longer
    than the hold-back), the decision carries an extra ``late_block`` event:
    the block came too late to keep those characters from the client, which
    is a finding of its own.
    """

    def __init__(self, owner: OutputFilter, secrets: list[str]) -> None:
        self._owner = owner
        self._secrets = secrets
        self._holdback = max((len(s) for s in secrets), default=1) - 1
        self._buffer = ""
        self._released = 0
        self._blocked = False
        self._closed = False

    @property
    def delivered(self) -> str:
        """The text released to the client so far."""
        return self._buffer[: self._released]

    @property
    def blocked(self) -> bool:
        """True once the stream was blocked (every later call returns BLOCK with no text)."""
        return self._blocked

    def _release_point(self, final: bool) -> int:
        if final:
            return len(self._buffer)
        point = max(self._released, len(self._buffer) - self._holdback)
        open_link = _OPEN_LINK.search(self._buffer, max(0, self._released - 2048))
        if open_link is not None:
            point = min(point, max(self._released, open_link.start()))
        return point

    def _step(self, final: bool) -> Decision:
        if self._blocked:
            return Decision(Action.BLOCK, [], None)
        start = 0 if final else max(0, self._released - RECHECK_CHARS)
        events = self._owner._events(self._buffer[start:], self._secrets, offset=start)
        if events:
            self._blocked = True
            late = [e for e in events if e.span is not None and e.span[0] < self._released]
            if late:
                first = min(e.span[0] for e in late if e.span is not None)
                events.append(
                    self._owner.event(
                        Action.BLOCK,
                        f"late_block: the blocked content began {self._released - first} characters before the "
                        f"end of what was already delivered (streamed {self._released} characters); block "
                        "before streaming or hold back more",
                        span=(first, self._released),
                    )
                )
            return self._owner.decide(events, None, blocked_text=self._owner.refusal)
        point = self._release_point(final)
        text = self._buffer[self._released : point]
        self._released = point
        return Decision(Action.ALLOW, [], text)

    def feed(self, chunk: str) -> Decision:
        """Add the next chunk of the answer.

        Returns:
            ALLOW with ``text`` = the characters that may now be sent (possibly
            ""); BLOCK with ``text`` = the refusal (send it instead and stop)
            and the events, once; BLOCK with ``text=None`` for chunks fed after
            a block.

        Raises:
            TypeError: ``chunk`` is not a str.
            ValueError: the stream was closed.
        """
        require_str(chunk, "chunk")
        if self._closed:
            raise ValueError("the stream is closed")
        if self._blocked:
            return Decision(Action.BLOCK, [], None)
        self._buffer += chunk
        return self._step(final=False)

    def close(self) -> Decision:
        """End the answer: check all of it and release what was held back.

        Returns:
            As :meth:`feed`; ALLOW's ``text`` is the rest of the answer.

        Raises:
            ValueError: the stream was already closed.
        """
        if self._closed:
            raise ValueError("the stream is closed")
        self._closed = True
        return self._step(final=True)
