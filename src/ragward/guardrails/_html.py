"""HTML carriers of hidden text (private).

A page can hold text a human never sees but a RAG pipeline indexes and feeds
to the model: comments, elements hidden by CSS (display:none, visibility:hidden,
font-size:0, opacity:0, off-screen positioning, clipping, white text),
``hidden`` attributes, script/style/template contents, and attributes such as
``img alt``, ``title`` and ``meta content``. Source: Greshake et al., arXiv
2302.12173 §4 (hidden injections in web pages); Liu et al., "Formalizing and
Benchmarking Prompt Injection Attacks and Defenses" (USENIX Security 2024);
Kaspersky/Trend Micro reports on hidden-text prompt injection (2024).

This is a tolerant, linear scanner (regular expressions plus a stack of open
elements), not a validating parser: it must cope with fragments of HTML in
markdown and with broken markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

CarrierKind = Literal["comment", "hidden_element", "raw_element", "attribute"]

_COMMENT = re.compile(r"<!--(.*?)(?:-->|\Z)", re.DOTALL)
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+(?:[^<>\"'/]|/(?!>)|\"[^\"]{0,4000}\"|'[^']{0,4000}'){0,4000})?)\s*(/?)>"
)
_ATTR = re.compile(r"([A-Za-z_:@][-A-Za-z0-9_:.@]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^\s*(?:[a-z0-9]*)([.#])([\w-]+)\s*$", re.IGNORECASE)

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "keygen",
    ]
)
RAW = frozenset({"script", "style", "template", "noscript", "textarea", "title", "xmp"})
#: Element names treated as HTML (others, such as ``<b and c>`` in prose or
#: ``<T>`` in code, are left alone).
KNOWN = frozenset(
    [
        "a",
        "abbr",
        "address",
        "area",
        "article",
        "aside",
        "audio",
        "b",
        "base",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "body",
        "br",
        "button",
        "canvas",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "data",
        "datalist",
        "dd",
        "del",
        "details",
        "dfn",
        "dialog",
        "div",
        "dl",
        "dt",
        "em",
        "embed",
        "fieldset",
        "figcaption",
        "figure",
        "font",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "head",
        "header",
        "hgroup",
        "hr",
        "html",
        "i",
        "iframe",
        "img",
        "image",
        "input",
        "ins",
        "kbd",
        "label",
        "legend",
        "li",
        "link",
        "main",
        "map",
        "mark",
        "marquee",
        "menu",
        "meta",
        "meter",
        "nav",
        "noscript",
        "object",
        "ol",
        "optgroup",
        "option",
        "output",
        "p",
        "param",
        "picture",
        "pre",
        "progress",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "script",
        "section",
        "select",
        "slot",
        "small",
        "source",
        "span",
        "strike",
        "strong",
        "style",
        "sub",
        "summary",
        "sup",
        "svg",
        "table",
        "tbody",
        "td",
        "template",
        "textarea",
        "tfoot",
        "th",
        "thead",
        "time",
        "title",
        "tr",
        "track",
        "tt",
        "u",
        "ul",
        "var",
        "video",
        "wbr",
        "xmp",
        "center",
    ]
)
_TEXT_ATTRS = {
    "alt": "img alt text",
    "title": "title attribute",
    "aria-label": "aria-label attribute",
    "placeholder": "placeholder attribute",
    "data-prompt": "data attribute",
    "data-instructions": "data attribute",
}

_HIDDEN_STYLE = (
    (re.compile(r"display:none"), "display:none"),
    (re.compile(r"visibility:(?:hidden|collapse)"), "visibility:hidden"),
    (re.compile(r"font-size:(?:0|0?\.\d+|1)(?:px|pt|em|rem|%|vw|vh)?(?![\d.])"), "font-size:0"),
    (re.compile(r"(?<![-\w])opacity:(?:0|0?\.0\d*|0\.0)(?![\d.])"), "opacity:0"),
    (
        re.compile(r"(?:left|top|right|bottom|text-indent|margin-left|margin-top):-\d{3,}"),
        "off-screen positioning",
    ),
    (re.compile(r"clip:rect\(0(?:px)?,?0(?:px)?,?0(?:px)?,?0(?:px)?\)"), "clip:rect(0)"),
    (re.compile(r"clip-path:inset\((?:50|100)%\)"), "clip-path:inset"),
    (re.compile(r"transform:scale\(0(?:\.0+)?\)"), "transform:scale(0)"),
    (re.compile(r"(?<![-\w])color:transparent"), "color:transparent"),
    (re.compile(r"(?:^|;)(?:max-)?(?:height|width):0(?:px)?(?:;|$)"), "zero size"),
)
_WHITE = re.compile(r"(?<![-\w])color:(?:#fff(?:fff)?|white|rgba?\(255,255,255(?:,1(?:\.0)?)?\))")
# A background a light text can be read on: dark colours, images and gradients
# (light-on-dark design is not hidden text).
_DARK_BACKGROUND = re.compile(
    r"background(?:-color|-image)?:(?:[^;]*url\(|[^;]*gradient\(|#000|#[0-3][0-9a-f]{5}\b|#[0-3][0-9a-f]{2}\b"
    r"|black|navy|midnightblue|darkslate\w*|rgba?\(\d{1,2},|hsla?\(\d+,\d+%,[0-3]?\d%)"
)


@dataclass(frozen=True)
class Carrier:
    """A place in an HTML text that holds text a reader does not see.

    ``span`` is the ``[start, end)`` range of the whole carrier (element,
    comment or tag); ``text`` the hidden text (tags stripped, entities
    decoded); ``reason`` says why it is hidden (e.g. ``"display:none"``).
    """

    kind: CarrierKind
    reason: str
    span: tuple[int, int]
    text: str


def looks_like_html(text: str) -> bool:
    """True when ``text`` holds at least one comment or known HTML tag."""
    if "<" not in text:
        return False
    if "<!--" in text:
        return True
    return any(m.group(2).lower() in KNOWN for m in _TAG.finditer(text))


def parse_attrs(raw: str) -> dict[str, str]:
    """Attributes of a tag as a dict (lower-case names, entity-decoded values)."""
    attrs: dict[str, str] = {}
    for m in _ATTR.finditer(raw):
        value = m.group(2) or ""
        if value[:1] in "\"'":
            value = value[1:-1]
        attrs.setdefault(m.group(1).lower(), html.unescape(value))
    return attrs


def dark_background(style: str) -> bool:
    """True when an inline ``style`` gives its element a dark or image background."""
    return _DARK_BACKGROUND.search(re.sub(r"\s+|!important", "", style.lower())) is not None


def hidden_style(style: str) -> str | None:
    """Why an inline ``style`` hides its element, or None when it does not."""
    css = re.sub(r"\s+|!important", "", style.lower())
    for pattern, reason in _HIDDEN_STYLE:
        if pattern.search(css):
            if reason == "zero size" and "overflow:hidden" not in css:
                continue
            return reason
    if _WHITE.search(css) and not _DARK_BACKGROUND.search(css):
        return "white text"
    return None


def _hidden_selectors(css: str) -> dict[str, str]:
    hidden: dict[str, str] = {}
    for rule in _CSS_RULE.finditer(css):
        reason = hidden_style(rule.group(2))
        if reason is None:
            continue
        for selector in rule.group(1).split(","):
            m = _SIMPLE_SELECTOR.match(selector)
            if m:
                hidden[m.group(1) + m.group(2)] = reason
    return hidden


def tag_text(fragment: str) -> str:
    """Visible-ish text of an HTML fragment: tags and comments removed, entities decoded."""
    without = _COMMENT.sub(" ", fragment)
    without = _TAG.sub(" ", without)
    return " ".join(html.unescape(without).split())


def _hidden_reason(name: str, attrs: dict[str, str], selectors: dict[str, str]) -> str | None:
    if "hidden" in attrs:
        return "hidden attribute"
    if name == "input" and attrs.get("type", "").lower() == "hidden":
        return "hidden input"
    reason = hidden_style(attrs.get("style", ""))
    if reason:
        return reason
    for cls in attrs.get("class", "").split():
        if "." + cls in selectors:
            return f"{selectors['.' + cls]} (class .{cls})"
    ident = attrs.get("id", "")
    if ident and "#" + ident in selectors:
        return f"{selectors['#' + ident]} (id #{ident})"
    return None


def _attribute_carriers(name: str, attrs: dict[str, str], span: tuple[int, int]) -> list[Carrier]:
    out: list[Carrier] = []
    for attr, label in _TEXT_ATTRS.items():
        value = attrs.get(attr, "").strip()
        if value:
            out.append(Carrier("attribute", label, span, value))
    if name == "meta" and attrs.get("content", "").strip():
        which = attrs.get("name") or attrs.get("property") or attrs.get("http-equiv") or "meta"
        out.append(Carrier("attribute", f"meta {which} content", span, attrs["content"].strip()))
    if name == "input" and attrs.get("value", "").strip():
        out.append(Carrier("attribute", "input value", span, attrs["value"].strip()))
    return out


def find_carriers(text: str) -> list[Carrier]:
    """Every hidden-text carrier in an HTML (or markdown-with-HTML) ``text``.

    Hidden elements nested in another hidden element are reported once, as
    the outermost. Attribute carriers are reported for every tag that has
    text in ``alt``, ``title``, ``aria-label``, ``meta content`` or a hidden
    ``input value`` (whether they hold instructions is for the caller to
    judge).
    """
    carriers: list[Carrier] = []
    skip: list[tuple[int, int]] = []
    for m in _COMMENT.finditer(text):
        carriers.append(Carrier("comment", "HTML comment", m.span(), " ".join(m.group(1).split())))
        skip.append(m.span())

    selectors: dict[str, str] = {}
    for m in re.finditer(r"<style\b[^>]*>(.*?)(?:</style\s*>|\Z)", text, re.IGNORECASE | re.DOTALL):
        selectors.update(_hidden_selectors(m.group(1)))

    stack: list[tuple[str, int, str | None]] = []
    dark: list[bool] = []  # per open element: it or an ancestor has a dark/image background
    hidden_spans: list[tuple[int, int, str]] = []
    raw_end = -1
    s = 0
    for m in _TAG.finditer(text):
        start, end = m.span()
        if start < raw_end:
            continue
        while s < len(skip) and skip[s][1] <= start:
            s += 1
        if s < len(skip) and skip[s][0] <= start:
            continue
        closing, name = m.group(1) == "/", m.group(2).lower()
        if name not in KNOWN:
            continue
        if closing:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == name:
                    for _, open_start, open_reason in stack[depth:]:
                        if open_reason is not None:
                            hidden_spans.append((open_start, end, open_reason))
                    del stack[depth:]
                    del dark[depth:]
                    break
            continue
        attrs = parse_attrs(m.group(3) or "")
        carriers.extend(_attribute_carriers(name, attrs, (start, end)))
        reason = _hidden_reason(name, attrs, selectors)
        if name in RAW:
            close = re.compile(rf"</{name}\s*>", re.IGNORECASE).search(text, end)
            raw_end = close.end() if close else len(text)
            content = text[end : close.start() if close else len(text)]
            if name in ("script", "style", "template", "noscript") and content.strip():
                label = reason or f"<{name}> content"
                carriers.append(Carrier("raw_element", label, (start, raw_end), content.strip()))
            continue
        if name in VOID or m.group(4):
            continue
        on_dark = (bool(dark) and dark[-1]) or dark_background(attrs.get("style", ""))
        if reason == "white text" and on_dark:
            reason = None  # light text on a dark or image background: design, not hiding
        stack.append((name, start, reason))
        dark.append(on_dark)
    for _, open_start, reason in stack:
        if reason is not None:
            hidden_spans.append((open_start, len(text), reason))

    hidden_spans.sort(key=lambda h: (h[0], -h[1]))
    outer_end = -1
    for start, end, reason in hidden_spans:
        if end <= outer_end:
            continue
        outer_end = end
        carriers.append(Carrier("hidden_element", reason, (start, end), tag_text(text[start:end])))
    carriers.sort(key=lambda c: c.span)
    return carriers


def tag_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans of every known HTML tag (not its content) in ``text``."""
    if "<" not in text:
        return []
    return [m.span() for m in _TAG.finditer(text) if m.group(2).lower() in KNOWN]
