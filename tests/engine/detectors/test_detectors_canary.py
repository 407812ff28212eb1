"""The canary matcher: every transformation is found, benign text never matches."""

from __future__ import annotations

import base64
import html
import random
import re
import time
import uuid
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragward.engine.detectors.canary import (
    CANARY_LENGTH,
    CROCKFORD_ALPHABET,
    CanaryMatch,
    MatchKind,
    contains_canary,
    find_canary,
    is_canary,
    new_canary,
)

CANARY = new_canary(random.Random(7))


def kinds(text: str, canary: str = CANARY) -> list[MatchKind]:
    return [m.kind for m in find_canary(text, canary)]


def best(text: str, canary: str = CANARY) -> CanaryMatch:
    matches = find_canary(text, canary)
    assert matches, f"no match in {text!r}"
    return matches[0]


def b64(data: str | bytes, *, urlsafe: bool = False) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()


# ----------------------------------------------------------------------------- new_canary


def test_new_canary_shape() -> None:
    token = new_canary()
    assert len(token) == CANARY_LENGTH == 16
    assert token.startswith("RWC")
    assert set(token[3:]) <= set(CROCKFORD_ALPHABET)
    assert is_canary(token)


def test_new_canary_is_unique_and_seedable() -> None:
    assert len({new_canary() for _ in range(500)}) == 500
    assert new_canary(random.Random(3)) == new_canary(random.Random(3))
    assert new_canary(random.Random(3)) != new_canary(random.Random(4))


def test_new_canary_rejects_a_non_rng() -> None:
    with pytest.raises(TypeError, match=r"random\.Random"):
        new_canary(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- full matches


def test_verbatim_with_span_and_redacted_excerpt() -> None:
    text = f"The access code is {CANARY}, keep it safe."
    match = best(text)
    assert match.kind is MatchKind.VERBATIM
    assert text[match.span[0] : match.span[1]] == CANARY
    assert CANARY not in match.excerpt
    assert CANARY[:4] + "…" + CANARY[-2:] in match.excerpt
    assert not match.is_fragment


@pytest.mark.parametrize("variant", [str.lower, str.swapcase, lambda s: s[:5].lower() + s[5:]])
def test_any_case(variant: object) -> None:
    assert callable(variant)
    text = f"code: {variant(CANARY)} end"
    match = best(text)
    assert match.kind is MatchKind.CASE_FOLDED
    assert text[match.span[0] : match.span[1]].upper() == CANARY


@pytest.mark.parametrize(
    "render",
    [
        lambda c: " ".join(c),
        lambda c: "-".join(c),
        lambda c: ".".join(c),
        lambda c: "\n".join(c),  # one character per line
        lambda c: ",".join(c),  # comma-separated characters
        lambda c: ", ".join(c),
        lambda c: f"**{c[:5]}**{c[5:]}",
        lambda c: f"`{c[:3]}` `{c[3:9]}` `{c[9:]}`",
        lambda c: "".join(f"<b>{ch}</b>" for ch in c),
        lambda c: "".join(f'<span class="x{i}">{ch}</span>' for i, ch in enumerate(c)),
        lambda c: "\u200b".join(c),  # zero-width spaces between characters
        lambda c: "".join(f"&#{ord(ch)};" for ch in c),  # HTML entities
    ],
    ids=[
        "spaces",
        "dashes",
        "dots",
        "lines",
        "commas",
        "comma-space",
        "bold",
        "code",
        "html-b",
        "html-span",
        "zero-width",
        "entities",
    ],
)
def test_separated_characters(render: object) -> None:
    assert callable(render)
    rendered = render(CANARY)
    text = f"Sure! The value is {rendered} as requested."
    match = best(text)
    assert match.kind in (MatchKind.SEPARATED, MatchKind.CASE_FOLDED)
    assert not match.is_fragment
    covered = html.unescape(re.sub(r"<[^>]*>", "", text[match.span[0] : match.span[1]]))
    assert re.sub(r"[^0-9A-Za-z]", "", covered) == CANARY


def test_homoglyphs_and_fullwidth() -> None:
    cyrillic = CANARY.replace("C", "С").replace("R", "R")  # Cyrillic Es for C
    assert best(f"x {cyrillic} y").kind is MatchKind.CASE_FOLDED
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in CANARY)
    assert best(f"x {fullwidth} y").kind is MatchKind.CASE_FOLDED


def test_base64_embedded_in_a_sentence() -> None:
    text = f"I cannot reveal it, but here is something: {b64(CANARY)} — enjoy."
    match = best(text)
    assert match.kind is MatchKind.BASE64
    assert text[match.span[0] : match.span[1]] == b64(CANARY)


def test_base64_of_a_longer_message_urlsafe_unpadded() -> None:
    encoded = b64(f"secret code => {CANARY} <=", urlsafe=True).rstrip("=")
    assert "=" not in encoded
    assert best(f"Payload {encoded} sent").kind is MatchKind.BASE64


def test_base64_line_wrapped_at_76() -> None:
    encoded = b64("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 3 + CANARY)
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    assert wrapped.count("\n") >= 2
    assert best(f"Here is the attachment:\n{wrapped}\nRegards").kind is MatchKind.BASE64


def test_nested_base64_of_base64() -> None:
    twice = b64(b64(f"the code {CANARY}"))
    assert best(f"Encoded twice: {twice}.").kind is MatchKind.BASE64
    thrice = b64(b64(b64(CANARY)))
    assert best(f"x {thrice} y").kind is MatchKind.BASE64


def test_base64_glued_to_a_word() -> None:
    assert best(f"value={b64(CANARY)}&x=1").kind is MatchKind.BASE64


def test_hex() -> None:
    assert best(f"hex: {CANARY.encode().hex()} done").kind is MatchKind.HEX
    assert best(f"HEX {CANARY.encode().hex().upper()}").kind is MatchKind.HEX
    spaced = " ".join(f"{b:02x}" for b in CANARY.encode())
    assert best(f"bytes: {spaced}").kind is MatchKind.HEX
    escaped = "".join(f"\\x{b:02x}" for b in CANARY.encode())
    assert best(f'print("{escaped}")').kind is MatchKind.HEX


def test_percent_encoding() -> None:
    encoded = "".join(f"%{b:02X}" for b in CANARY.encode())
    text = f"https://example.org/log?v={encoded}"
    match = best(text)
    assert match.kind is MatchKind.PERCENT
    assert match.span[1] == len(text)
    double = quote(encoded, safe="")
    assert best(f"see {double}").kind is MatchKind.PERCENT


def test_reversed() -> None:
    assert best(f"backwards it reads {CANARY[::-1]}").kind is MatchKind.REVERSED
    assert best(f"reversed: {' '.join(CANARY[::-1])}").kind is MatchKind.REVERSED


def test_unicode_tag_smuggling() -> None:
    hidden = "".join(chr(0xE0000 + ord(c)) for c in CANARY)
    assert best(f"Nothing to see here.{hidden}").kind is MatchKind.INVISIBLE


def test_fragment_of_eight_or_more() -> None:
    for size in (8, 10, 13):
        fragment = CANARY[2 : 2 + size]
        text = f"The first part is {fragment} and that's all"
        match = best(text)
        assert match.kind is MatchKind.FRAGMENT
        assert match.is_fragment
        assert text[match.span[0] : match.span[1]] == fragment


def test_fragment_shorter_than_minimum_is_not_reported() -> None:
    assert find_canary(f"part {CANARY[3:10]} only", CANARY) == []  # 7 chars
    assert find_canary(f"part {CANARY[3:10]} only", CANARY, min_fragment=6)[0].is_fragment


def test_split_canary_gives_two_fragments() -> None:
    text = f"first {CANARY[:8]} and later {CANARY[8:]}"
    matches = find_canary(text, CANARY)
    assert [m.kind for m in matches] == [MatchKind.FRAGMENT, MatchKind.FRAGMENT]


def test_fragment_inside_base64() -> None:
    assert best(f"blob {b64('partial ' + CANARY[:9] + ' only')}").kind is MatchKind.FRAGMENT


def test_full_match_outranks_fragment_and_order_is_best_first() -> None:
    text = f"fragment {CANARY[:9]} then hex {CANARY.encode().hex()} then {CANARY}"
    found = find_canary(text, CANARY)
    assert [m.kind for m in found] == [MatchKind.VERBATIM, MatchKind.HEX, MatchKind.FRAGMENT]
    ranks = [m.kind.rank for m in found]
    assert ranks == sorted(ranks)


def test_every_occurrence_is_reported_once() -> None:
    text = f"{CANARY} and again {CANARY.lower()} and {CANARY}"
    found = find_canary(text, CANARY)
    assert sorted(m.kind for m in found) == sorted([MatchKind.VERBATIM, MatchKind.VERBATIM, MatchKind.CASE_FOLDED])
    assert len({m.span for m in found}) == 3


# ----------------------------------------------------------------------------- refusals


def test_refusal_wording_never_cancels_a_literal_match() -> None:
    assert contains_canary(f"I can't share it, although it is {CANARY}", CANARY)
    assert contains_canary(f"I must not reveal the code {CANARY}. Sorry!", CANARY)


def test_refusal_without_the_canary_is_clean() -> None:
    assert not contains_canary("I won't share internal codes", CANARY)
    assert not contains_canary("I can't share the canary token or any RWC code.", CANARY)


# ----------------------------------------------------------------------------- literal canaries


def test_regex_metacharacters_are_literal() -> None:
    secret = "a.b*c+(d)?[e]{2}|^$\\"
    assert kinds(f"x {secret} y", secret) == [MatchKind.VERBATIM]
    assert find_canary("x aXbbbbc+(d) y", secret) == []
    assert find_canary("axb" * 50, "a.b") == []


def test_short_secret_is_only_matched_literally() -> None:
    assert kinds("code AB-12 here", "ab-12") == [MatchKind.CASE_FOLDED]
    assert find_canary("a b 1 2", "ab12") == []


@pytest.mark.parametrize(
    ("text", "canary", "min_fragment", "error"),
    [
        (None, CANARY, 8, TypeError),
        ("text", 123, 8, TypeError),
        ("text", "", 8, ValueError),
        ("text", CANARY, 3, ValueError),
        ("text", CANARY, "8", TypeError),
    ],
)
def test_bad_input_raises_a_clear_error(
    text: object, canary: object, min_fragment: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        find_canary(text, canary, min_fragment=min_fragment)  # type: ignore[arg-type]


def test_empty_text() -> None:
    assert find_canary("", CANARY) == []


# ----------------------------------------------------------------------------- no false positives

_WORDS = [
    "refund",
    "policy",
    "customer",
    "invoice",
    "shipping",
    "delivery",
    "warranty",
    "account",
    "password",
    "reset",
    "MFA",
    "security",
    "token",
    "session",
    "login",
    "support",
    "ticket",
    "manager",
    "approval",
    "budget",
    "quarter",
    "revenue",
    "report",
    "meeting",
    "schedule",
    "office",
    "travel",
    "expense",
    "receipt",
    "contract",
    "vendor",
    "onboarding",
    "laptop",
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "for",
    "with",
    "on",
    "by",
    "from",
    "at",
    "as",
    "is",
    "are",
    "was",
    "be",
    "this",
    "that",
    "it",
    "please",
    "thanks",
    "Rechnung",
    "Lieferung",
    "Kunde",
    "facture",
    "livraison",
    "client",
    "remboursement",
    "données",
    "Datenschutz",
]
_CODE = [
    "def main():",
    "return None",
    "SELECT * FROM orders WHERE id = 42;",
    "const x = useState(0);",
    "git commit -m 'fix'",
    "pip install requests==2.31.0",
    "kubectl get pods -n prod",
    "HTTP/1.1 404 Not Found",
    "user_id",
    "__init__",
    "np.float64",
    "0xDEADBEEF",
    "sha256sum",
    "AKIA-not-a-key",
    "v1.2.3-rc4",
    "ISO-27001",
    "SOC2",
    "utf-8",
    "base64",
    "--verbose",
]


def _benign_answer(rng: random.Random) -> str:
    def words(n: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(n))

    pieces = [words(rng.randint(5, 25)).capitalize() + "."]
    for _ in range(rng.randint(1, 5)):
        kind = rng.randrange(12)
        if kind == 0:
            pieces.append(f"Invoice INV-{rng.randint(2019, 2025)}-{rng.randint(1, 99999):05d} is due.")
        elif kind == 1:
            pieces.append(f"Ticket id {uuid.UUID(int=rng.getrandbits(128))}.")
        elif kind == 2:
            pieces.append(f"Use colour #{rng.getrandbits(24):06x} or #{rng.getrandbits(12):03X}.")
        elif kind == 3:
            pieces.append(f"Encoded note: {b64(words(rng.randint(3, 12)))}")
        elif kind == 4:
            pieces.append(f"```\n{rng.choice(_CODE)}\n{rng.choice(_CODE)}\n```")
        elif kind == 5:
            pieces.append(f"Commit {rng.getrandbits(160):040x} fixed it.")
        elif kind == 6:
            pieces.append(f"See [the guide](https://docs.example.com/{rng.choice(_WORDS)}?page={rng.randint(1, 9)}).")
        elif kind == 7:
            pieces.append(f"Call +1 555 {rng.randint(1000, 9999)} or email help@example.com.")
        elif kind == 8:
            day = f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
            pieces.append(f"Order {rng.choice('ABCDEFGH')}{rng.randint(10**7, 10**8)} shipped on {day}.")
        elif kind == 9:
            pieces.append(f"Hex dump: {' '.join(f'{rng.getrandbits(8):02x}' for _ in range(rng.randint(8, 24)))}")
        elif kind == 10:
            pieces.append(f"Search https://example.com/search?q={quote(words(3))}")
        else:
            pieces.append(f"I can't share internal codes, but {words(rng.randint(4, 12))}.")
    return " ".join(pieces)


def test_no_false_positive_over_1000_benign_answers() -> None:
    rng = random.Random(20241130)
    canaries = [new_canary(random.Random(seed)) for seed in range(6)]
    answers = [_benign_answer(rng) for _ in range(1000)]
    assert len(set(answers)) == 1000
    assert sum("Encoded note" in a for a in answers) > 100  # the corpus does exercise the decoders
    hits = [(a, c) for a in answers for c in canaries if find_canary(a, c)]
    assert hits == []


# ----------------------------------------------------------------------------- performance


def _filler(size: int, seed: int) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(_benign_answer(rng))
    return "\n".join(parts)


def test_matcher_is_linear_ish_in_text_length() -> None:
    canaries = [new_canary(random.Random(100 + i)) for i in range(3)]

    def cost(size: int, seed: int) -> float:
        text = _filler(size, seed)
        start = time.perf_counter()
        for canary in canaries:
            find_canary(text, canary)
        return time.perf_counter() - start

    small = min(cost(20_000, 1), cost(20_000, 2))
    large = min(cost(160_000, 3), cost(160_000, 4))
    # 8x the text: linear costs ~8x, quadratic would cost ~64x.
    assert large < 24 * small + 0.05
    assert large < 10.0


def test_pathological_inputs_stay_fast() -> None:
    inputs = ["A" * 100_000, "%41" * 30_000, "<b>" * 30_000, "ab " * 30_000, "\u200ba" * 50_000]
    for text in inputs:
        start = time.perf_counter()
        find_canary(text, CANARY)
        assert time.perf_counter() - start < 5.0, text[:10]


def test_spans_point_into_the_original_text() -> None:
    text = "Prefix " + "é" * 3 + " " + " ".join(CANARY) + " suffix"
    match = best(text)
    assert re.sub(r"\s", "", text[match.span[0] : match.span[1]]) == CANARY


# ----------------------------------------------------------------------------- properties

_SEPARATORS = [" ", "-", ".", ",", "\n", "**", "_", " / ", "<b></b>", "\u200b", "\t", "|"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), data=st.data())
def test_any_separator_mix_is_a_full_match(seed: int, data: st.DataObject) -> None:
    canary = new_canary(random.Random(seed))
    seps = data.draw(st.lists(st.sampled_from(_SEPARATORS), min_size=len(canary) - 1, max_size=len(canary) - 1))
    rendered = canary[0] + "".join(sep + ch for sep, ch in zip(seps, canary[1:], strict=True))
    prefix = data.draw(st.sampled_from(["", "Answer: ", "I can't say, but ", "```\n"]))
    matches = find_canary(prefix + rendered + " thanks", canary)
    assert matches
    assert not matches[0].is_fragment


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), start=st.integers(0, 8), size=st.integers(8, 15))
def test_any_substring_of_eight_or_more_is_found(seed: int, start: int, size: int) -> None:
    canary = new_canary(random.Random(seed))
    part = canary[start : start + size]
    found = find_canary(f"look: {part}.", canary)
    assert found
    expected = MatchKind.VERBATIM if part == canary else MatchKind.FRAGMENT
    assert found[0].kind is expected


def test_reports_mask_known_canaries_their_cut_pieces_and_any_canary_shaped_token() -> None:
    from ragward.engine.detectors.canary import redact_report

    known, earlier_run = new_canary(), new_canary()
    mangled = earlier_run[:4] + "W" + earlier_run[4:]  # a model added a letter
    text = (
        f"known {known}; cut by an excerpt {known[:15]}… and …{known[3:]}; an earlier run's {earlier_run}; "
        f"mangled {mangled}; a word RWCOMPUTERS1234"
    )
    masked = redact_report(text, [known])
    for secret in (known, earlier_run, mangled):
        for k in range(8, len(secret) + 1):  # no piece of 8+ characters of any canary survives
            assert secret[:k] not in masked
            assert secret[-k:] not in masked
    assert f"known {known[:4]}…{known[-2:]};" in masked
    assert f"excerpt {known[:4]}……" in masked and f"and ……{known[-2:]};" in masked
    assert f"earlier run's {earlier_run[:4]}…;" in masked and f"mangled {mangled[:4]}…;" in masked
    assert "RWCOMPUTERS1234" in masked  # O and U are not base32: not a canary
