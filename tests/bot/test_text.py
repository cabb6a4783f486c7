"""The one escape, the one identity and the one id parser (bot/text.py), tried on many inputs."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.text import BIDI_CONTROLS, MAX_ID, escape, identity_key, is_invisible, parse_id
from bot.validation import clean_text

# What Discord's markdown would act on, were it not escaped: a backslash before it shows it as itself.
HOSTILE = [
    "[Verify](https://evil.example/login)",
    "**bold** __under__ ~~strike~~ ||spoiler|| `code` ```block```",
    "# Heading",
    "## Heading",
    "-# subtext",
    "- list item",
    "* list item",
    "1. numbered",
    "> quote",
    ">>> quote all",
    "<@123456789012345678> <@!1> <@&2> <#3> <t:1700000000:R> <:emoji:4> </need post:5>",
    "@everyone @here",
    "line one\n# heading on line two\n> quote on line three",
    "\\[escaped by hand\\](https://evil.example)",
    "\u202eevil\u202c text \u2066isolated\u2069",
]

SPECIAL_ANYWHERE = set("\\*_~|`[]<")
LINE_STARTERS = set(">#-")


def unescaped(text: str) -> list[tuple[int, str]]:
    """Positions of characters no backslash escapes (a backslash escapes the one character after it)."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 2
            continue
        found.append((i, text[i]))
        i += 1
    return found


def shown(rendered: str) -> str:
    """What Discord displays for escaped text: each backslash-escaped character as itself."""
    return re.sub(r"\\(.)", r"\1", rendered, flags=re.DOTALL)


def assert_inert(rendered: str) -> None:
    """No character of ``rendered`` can act as markdown, a mention, a heading or a list."""
    free = unescaped(rendered)
    assert not [c for _, c in free if c in SPECIAL_ANYWHERE], rendered
    starts = {0} | {m.end() for m in re.finditer(r"\n", rendered)}
    for start in starts:
        line = rendered[start:].split("\n", 1)[0]
        stripped = line.lstrip()
        if stripped:
            assert stripped[0] not in LINE_STARTERS, line
            assert not re.match(r"\d+[.)]", stripped), line
    assert not re.search(r"@(everyone|here)", rendered, re.IGNORECASE), rendered
    assert not set(rendered) & BIDI_CONTROLS


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_leaves_no_markdown_link_mention_or_heading(text):
    assert_inert(escape(text))


@given(st.text())
@example("[a](b)")
@example("\\")
@example("- a\n  1) b")
def test_escaped_text_is_inert_and_shows_exactly_what_was_typed(text):
    rendered = escape(text)
    assert_inert(rendered)
    expected = "".join(ch for ch in text if ch not in BIDI_CONTROLS)
    expected = re.sub(r"@(everyone|here)", "@\u200b\\1", expected, flags=re.IGNORECASE)
    assert shown(rendered) == expected


def test_plain_names_and_contacts_are_left_as_they_are():
    for text in ("Houston Food Bank", "bob-ops@example.org", "+1 713 555 0100", "Baytown Relief (TX)", "m²"):
        assert escape(text) == text


INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u00ad", "\ufeff", "\u2060", "\u2066", "\u2069", "\u202e", "\u3164"]


@pytest.mark.parametrize(
    "look_alike",
    [
        "Houston Food Bank\u200b",
        "Houston\u200d Food Bank",
        "Hou\u00adston Food Bank",
        "\ufeffHouston Food Bank",
        "Houston Food Bank\u2068",
        "\u2067Houston Food Bank\u2069",
        "Ｈｏｕｓｔｏｎ Ｆｏｏｄ Ｂａｎｋ",
        "HOUSTON\u3000FOOD\u00a0BANK",
        "houston  food   bank",
        "Houston Food Bank\ufe0f",
    ],
)
def test_look_alike_names_share_one_identity(look_alike):
    assert identity_key(look_alike) == identity_key("Houston Food Bank")


@given(st.text(min_size=1), st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(INVISIBLES)), max_size=5))
def test_inserting_invisible_characters_never_changes_identity(name, inserts):
    changed = name
    for position, ch in inserts:
        at = position % (len(changed) + 1)
        changed = changed[:at] + ch + changed[at:]
    # An invisible character between two spaces can't merge or split words: compare word by word.
    assert identity_key(changed).replace(" ", "") == identity_key(name).replace(" ", "")


@given(st.text())
def test_identity_is_stable_and_holds_no_invisible_character(name):
    key = identity_key(name)
    assert identity_key(key) == key
    assert not any(is_invisible(ch) for ch in key)


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_every_text_field_refuses_direction_changing_characters(control):
    with pytest.raises(InvalidInput, match="direction"):
        clean_text(f"Relief {control}gnp.exe", "organisation name", max_length=80)


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\ufeff", "\u2060", "\u3164"])
def test_clean_text_drops_invisible_characters(invisible):
    assert clean_text(f"Relief{invisible} Now{invisible}", "name", max_length=80) == "Relief Now"


def test_clean_text_keeps_the_joiners_scripts_and_emoji_need():
    assert clean_text("می\u200cخواهم 👩\u200d⚕️", "notes", max_length=80) == "می\u200cخواهم 👩\u200d⚕️"


@pytest.mark.parametrize(
    "text", ["²", "¹²", "٣", "１２", "99999999999999999999", str(2**63), "0", "-1", "+5", "1e3", "0x10", "", " ", "N-1"]
)
def test_ids_that_name_nothing_parse_to_none(text):
    assert parse_id(text) is None


@given(st.text())
def test_parse_id_is_none_or_a_storable_positive_integer(text):
    parsed = parse_id(text)
    if parsed is not None:
        assert 1 <= parsed <= MAX_ID
        assert text.strip().isascii() and int(text.strip()) == parsed


@given(st.integers(min_value=1, max_value=MAX_ID))
def test_every_storable_id_round_trips(number):
    assert parse_id(str(number)) == number
    assert parse_id(f" {number} ") == number
