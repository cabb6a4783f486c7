"""What people typed, as it is shown and as it is compared: one escape, one identity, one id parser.

Every renderer (channel notices, DMs, embeds, button replies, digests, listings)
passes user text through :func:`escape` and nothing else, so text shows exactly
as typed and never as a masked link, a mention, a heading or formatting.
Names are unique by :func:`identity_key`, so look-alikes (an invisible character,
full-width letters, a case change) are one name. Ids typed or carried in a
button are read by :func:`parse_id` alone.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional controls reorder what follows them: "gnp.exe" can show as "exe.png". Never shown, never stored.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that draw nothing but make two equal-looking names differ, beyond the format (Cf) category.
_BLANK_LETTERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0")

_SHAPING = frozenset("\u200c\u200d\ufe0e\ufe0f")

# Discord markdown: inline styles, spoilers, code and masked links anywhere, and the brackets of mentions,
# channels, roles, timestamps and custom emoji; quotes, headings, lists and subtext only where a line starts
# (the text's own start counts, wherever it is placed). A backslash shows each character as itself.
_MARKDOWN = re.compile(r"([\\*_~|`\[\]<])")
_LINE_START = re.compile(r"^(\s*)([>#\-])", re.MULTILINE)
_NUMBERED_LIST = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)

# SQLite's INTEGER is a signed 64-bit number: a larger id can name nothing and must not reach a query.
MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,40}")


def escape(text: object) -> str:
    """User text made inert for Discord: shown character for character, never rendered as markdown.

    Bidirectional controls are dropped (they would reorder the text around it);
    ``@everyone`` and ``@here`` get a zero-width space so they read the same but
    can never ping, whatever a message's allowed mentions say.
    """
    value = "".join(ch for ch in str(text) if ch not in BIDI_CONTROLS)
    value = _MARKDOWN.sub(r"\\\1", value)
    value = _NUMBERED_LIST.sub(r"\1\\\2", value)
    value = _LINE_START.sub(r"\1\\\2", value)
    return _MASS_MENTION.sub("@\u200b\\1", value)


def is_invisible(ch: str) -> bool:
    """Draws nothing: format characters (zero-width space and joiners, soft hyphen, BOM, bidi) and blank letters."""
    return unicodedata.category(ch) == "Cf" or ch in _BLANK_LETTERS or "\ufe00" <= ch <= "\ufe0f"


def strip_invisible(text: str) -> str:
    """``text`` without the characters that draw nothing, bar the joiners that scripts and emoji need.

    Zero-width joiner and non-joiner shape Arabic, Persian and Indic words and
    join emoji; variation selectors choose an emoji's look. They stay in what is
    shown, and :func:`identity_key` ignores them.
    """
    return "".join(ch for ch in text if ch in _SHAPING or not is_invisible(ch))


def identity_key(name: str) -> str:
    """The key two names are compared by: equal whenever a reader could not tell them apart by their letters.

    NFKC folds full-width and compatibility forms (``Ｈｏｕｓｔｏｎ`` is ``Houston``), invisible
    characters go, case is folded and runs of any kind of space become one.
    """
    folded = unicodedata.normalize("NFKC", name)
    visible = "".join(ch for ch in folded if not is_invisible(ch))
    return " ".join(unicodedata.normalize("NFKC", visible.casefold()).split())


def parse_id(text: object) -> int | None:
    """A stored row's id from typed or carried text: ASCII digits only, 1 to 2^63-1; None for anything else.

    ``str.isdigit`` accepts "²" and other scripts' digits, and a 20-digit number
    overflows SQLite: both are simply "no such id" here.
    """
    value = str(text).strip() if text is not None else ""
    if not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
