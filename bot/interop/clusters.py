"""Cluster names and acronyms as 3W files spell them, mapped to the eleven IASC sectors.

Real files write "WASH", "Water, Sanitation and Hygiene", "FSL", "Shelter/NFI",
"CCCM" or "Santé"; each maps to one sector key of bot.taxonomy. Lookups ignore
case, accents, punctuation and "cluster"/"sector" around the name.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InvalidInput
from bot.taxonomy import SECTORS

_NAMES = {
    "camp": (
        "cccm", "ccm", "camp", "camps", "camp coordination", "camp management",
        "camp coordination camp management", "camp coordination and camp management", "camp coordination management",
    ),
    "early_recovery": ("er", "ery", "early recovery", "recovery", "livelihoods and early recovery"),
    "education": ("edu", "education", "educ", "education in emergencies", "eie"),
    "shelter": (
        "shelter", "shl", "es", "esnfi", "es nfi", "shelter nfi", "shelter and nfi", "emergency shelter",
        "emergency shelter and nfi", "nfi", "non food items", "abris",
    ),
    "telecom": ("etc", "tel", "telecom", "telecoms", "telecommunications", "emergency telecommunications"),
    "food": (
        "food", "fsl", "fsc", "fs", "food security", "food security and livelihoods", "food security livelihoods",
        "food assistance", "securite alimentaire",
    ),
    "health": ("hea", "hlt", "health", "sante", "salud"),
    "logistics": ("log", "logs", "logistics", "logistique"),
    "nutrition": ("nut", "nutrition"),
    "protection": (
        "pro", "prot", "protection", "gbv", "gender based violence", "child protection", "cp", "mine action",
        "housing land and property", "hlp",
    ),
    "wash": (
        "wash", "wsh", "eha", "water", "water sanitation hygiene", "water sanitation and hygiene",
        "water, sanitation and hygiene", "wash water sanitation hygiene", "agua saneamiento e higiene",
    ),
}  # fmt: skip
_NOISE = re.compile(r"\b(cluster|sector|aor|area of responsibility)\b")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOISE.sub(" ", _NOT_WORD.sub(" ", plain)).split())


_LOOKUP: dict[str, str] = {}
for _sector in SECTORS:
    _LOOKUP[_fold(_sector.key)] = _sector.key
    _LOOKUP[_fold(_sector.label)] = _sector.key
for _key, _names in _NAMES.items():
    for _name in _names:
        _LOOKUP[_fold(_name)] = _key


def sector_of(text: str) -> str:
    """The sector key for a cluster name, acronym, label or key; InvalidInput naming the choices otherwise."""
    found = _LOOKUP.get(_fold(text))
    if found is None:
        shown = " ".join(text.split())[:40] or "(empty)"
        raise InvalidInput(
            f"“{shown}” is not a cluster or sector: use an IASC cluster name or acronym (WASH, FSL, Shelter, CCCM...)."
        )
    return found


def sectors_of(text: str) -> tuple[str, ...]:
    """Several sectors in one cell, separated by ";" or "|" (commas belong to names like "Water, Sanitation...")."""
    keys: list[str] = []
    for part in re.split(r"[;|]", text):
        if part.strip():
            key = sector_of(part)
            if key not in keys:
                keys.append(key)
    return tuple(keys)
