"""Posts are public: their notes must not carry a phone number, an e-mail or a street address.

Contacts are shared privately, with the other side only, when a match is committed; this is the one
check every public text of a post (typed or imported) goes through.
"""

from __future__ import annotations

import re

from bot.errors import InvalidInput

_PHONE = re.compile(
    r"\+\d[\d\s().-]{6,}\d"  # international: +33 1 23 45 67 89
    r"|\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b"  # North American: (713) 555-0100, 713.555.0100
    r"|\b0\d{9,10}\b"  # national with trunk prefix: 07700900123
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_STREET = re.compile(
    r"\b\d{1,5}[a-zA-Z]?,?\s+(?:(?:[A-Z][\w'.-]*|\d+(?:st|nd|rd|th))\s+){1,3}"
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|highway|hwy"
    r"|parkway|pkwy|terrace|square|sq)\b"
    r"|\b\d{1,5},?\s+(?i:rue|calle|via|avenida|rua|avenue)\s+(?:de\s+|del\s+|la\s+|du\s+)?[A-Z]"
)


def refuse_personal_data(text: str, field: str) -> None:
    """Refuse text that looks like a phone number, an e-mail or a street address."""
    found = (
        "a phone number" if _PHONE.search(text)
        else "an e-mail address" if _EMAIL.search(text)
        else "a street address" if _STREET.search(text)
        else None
    )  # fmt: skip
    if found:
        raise InvalidInput(
            f"The {field} seem to contain {found}. Posts are public, so leave contact details out: your "
            "organisation's contact is shared privately with the other side when a match is committed."
        )
