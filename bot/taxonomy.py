"""Sectors and relief items: what a need or an offer is *of*.

The eleven sectors are the IASC clusters and part of the command contract, so
they live here. Items, their synonyms and parents come from
``config/taxonomy.toml`` so a coalition can extend the catalogue without code.
Free text that names no catalogue item is still accepted as a custom item, so
nobody is blocked from posting a need the catalogue did not foresee.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.errors import InvalidInput, SettingsError, UnknownSector
from bot.text import escape
from bot.units import Unit, UnitError, singular, singular_word
from bot.units import parse as parse_unit

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_PATH = CONFIG_DIR / "taxonomy.toml"
CUSTOM_PREFIX = "custom:"
MAX_ITEM_TEXT = 80
MAX_LABEL = 100  # Discord's limit on a choice name
SAME_FIT = 1.0
PARENT_FIT = 0.7
SIBLING_FIT = 0.5
# Typo tolerance, measured on tests/data/misspellings.csv (see docs/input.md): the similarity
# is 1 - edits / length under optimal string alignment, where swapping two letters is one edit.
# In the chosen sector one edit in four letters is forgiven; another sector's item must be
# closer, since a wrong sector would send goods to the wrong cluster. Words shorter than
# MIN_TYPO_LENGTH are taken as typed: "ice" is not "rice", nor "coat" a "cot".
TYPO_SIMILARITY = 0.75
MIN_TYPO_LENGTH = 5
OTHER_SECTOR_SIMILARITY = 0.88
CUSTOM_SIMILARITY = 0.85

_KEY = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script
_APOSTROPHES = str.maketrans("", "", "'’")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Sector:
    """One IASC cluster: a stable key and the label people read."""

    key: str
    label: str


SECTORS: tuple[Sector, ...] = (
    Sector("camp", "Camp Coordination/Management"),
    Sector("early_recovery", "Early Recovery"),
    Sector("education", "Education"),
    Sector("shelter", "Emergency Shelter"),
    Sector("telecom", "Emergency Telecommunications"),
    Sector("food", "Food Security"),
    Sector("health", "Health"),
    Sector("logistics", "Logistics"),
    Sector("nutrition", "Nutrition"),
    Sector("protection", "Protection"),
    Sector("wash", "WASH (water, sanitation, hygiene)"),
)
_SECTOR_LOOKUP = {s.key: s for s in SECTORS} | {s.label.casefold(): s for s in SECTORS}


def sector_by_key(text: str) -> Sector:
    """Return the sector named by ``text``, its key or its label, in any case.

    Raises :class:`UnknownSector` naming the valid keys.
    """
    wanted = " ".join(text.split()).casefold()
    found = _SECTOR_LOOKUP.get(wanted) or _SECTOR_LOOKUP.get(wanted.replace(" ", "_"))
    if found is None:
        shown = escape(wanted[:40]) or "(empty)"
        valid = ", ".join(s.key for s in SECTORS)
        raise UnknownSector(f"“{shown}” is not a sector. Choose one of: {valid}.")
    return found


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue item; ``sector`` and ``parent`` are keys."""

    key: str
    label: str
    sector: str
    synonyms: tuple[str, ...]
    parent: str | None
    unit: str
    # Units people post this item in, most usual first (autocomplete offers them), and sizes the catalogue
    # knows for its packs ("case": "12 meals"): a post in cases then converts to meals without saying so.
    usual_units: tuple[str, ...] = ()
    sizes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ItemRef:
    """What a person's item text resolved to; ``known`` is False for free text."""

    key: str
    label: str
    sector: str | None
    known: bool
    # True when the text was read as a close spelling of this item, not named exactly.
    corrected: bool = False


def _words(text: str) -> list[str]:
    """Lowercase, accent-free words of ``text``; punctuation separates words."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    return _WORD.findall("".join(c for c in folded if not unicodedata.combining(c)))


def normalise(text: str) -> str:
    """The form item names are compared in: "Water-Bottles " -> "water bottle"."""
    return " ".join(singular_word(w) for w in _words(text))


def _clean(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


class Taxonomy:
    """The item catalogue with lookups for resolving, matching and autocomplete."""

    def __init__(self, items: tuple[Item, ...], units: tuple[str, ...]) -> None:
        self.items = items
        self.unit_names = units
        self._by_key = {item.key: item for item in items}
        self._children: dict[str, list[str]] = {}
        for item in items:
            if item.parent is not None:
                self._children.setdefault(item.parent, []).append(item.key)
        self._by_term = self._index_terms(items)
        # Every spelling of every item, for typo tolerance: (key, term) -> normalised term.
        self._fuzzy_terms: dict[str, dict[tuple[str, ...], str]] = {}
        for term, item in self._by_term.items():
            self._fuzzy_terms.setdefault(item.sector, {})[(item.key, term)] = term
        self._all_fuzzy_terms = {k: v for terms in self._fuzzy_terms.values() for k, v in terms.items()}
        # Autocomplete compares what was typed so far, so no singularising here.
        self._search_terms = {
            item.key: tuple(" ".join(_words(t)) for t in (item.label, *item.synonyms)) for item in items
        }
        # Catalogue position within the sector, so an empty search interleaves sectors.
        seen: dict[str, int] = {}
        self._sector_rank: dict[str, int] = {}
        for item in items:
            self._sector_rank[item.key] = seen[item.sector] = seen.get(item.sector, -1) + 1

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        """Read and validate a taxonomy file; raises :class:`SettingsError` if malformed."""
        path = path or DEFAULT_PATH
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read the taxonomy {path}: {exc}") from exc
        units = tuple(data.get("units", ()))
        items = tuple(_parse_item(raw, set(units)) for raw in data.get("items", ()))
        _check_keys(items)
        return cls(items, units)

    def get(self, key: str) -> Item | None:
        """The catalogue item with this key, or None (custom and unknown keys)."""
        return self._by_key.get(key)

    def resolve_item(self, text: str, sector: str | None = None, custom: Iterable[tuple[str, str]] = ()) -> ItemRef:
        """Turn what a person typed (a key, label or synonym) into an :class:`ItemRef`.

        A close misspelling ("insuline") reads as the catalogue item, of
        ``sector`` (a key or label) preferably. Other text becomes a custom item
        keyed ``custom:<slug>`` in ``sector``; when ``custom`` (key, label pairs
        already in use) holds a close spelling of it, that key is reused, so two
        posts of "solar panels" and "solar panles" match.
        """
        cleaned = _clean(text)
        if not cleaned:
            raise InvalidInput("Name the item, for example “bottled water” or “tarpaulin”.")
        if len(cleaned) > MAX_ITEM_TEXT:
            raise InvalidInput(f"Item names are at most {MAX_ITEM_TEXT} characters; put the details in the notes.")
        sector_key = sector_by_key(sector).key if sector else None
        if cleaned.startswith(CUSTOM_PREFIX):
            cleaned = _clean(cleaned.removeprefix(CUSTOM_PREFIX).replace("_", " ")) or cleaned
        wanted = normalise(cleaned)
        item = self._by_key.get(cleaned) or self._by_term.get(wanted)
        if item is not None:
            return ItemRef(item.key, item.label, item.sector, known=True)
        slug = wanted.replace(" ", "_")
        if not slug:
            raise InvalidInput("An item name needs letters or digits, for example “blankets”.")
        item = self._closest_item(wanted, sector_key)
        if item is not None:
            return ItemRef(item.key, item.label, item.sector, known=True, corrected=True)
        in_use = {key: label for key, label in custom if key.startswith(CUSTOM_PREFIX)}
        if CUSTOM_PREFIX + slug in in_use:
            return ItemRef(CUSTOM_PREFIX + slug, cleaned, sector_key, known=False)
        terms = {(key,): normalise(key.removeprefix(CUSTOM_PREFIX).replace("_", " ")) for key in in_use}
        near = _closest(wanted, terms, CUSTOM_SIMILARITY)
        if near is not None:
            return ItemRef(near[0], in_use[near[0]], sector_key, known=False, corrected=True)
        return ItemRef(CUSTOM_PREFIX + slug, cleaned, sector_key, known=False)

    def _closest_item(self, wanted: str, sector_key: str | None) -> Item | None:
        """The catalogue item ``wanted`` is a close misspelling of, or None.

        Items of ``sector_key`` come first; another sector's item only at a
        stricter similarity. Without a sector, every item needs the strict one.
        """
        if len(wanted) < MIN_TYPO_LENGTH:
            return None
        if sector_key is not None:
            found = _closest(wanted, self._fuzzy_terms.get(sector_key, {}), TYPO_SIMILARITY)
            if found is not None:
                return self._by_key[found[0]]
        found = _closest(wanted, self._all_fuzzy_terms, OTHER_SECTOR_SIMILARITY)
        return self._by_key[found[0]] if found is not None else None

    def fit(self, key_a: str, key_b: str) -> float:
        """How well an offer of one item serves a need for the other, from 0 to 1."""
        if key_a == key_b:
            return SAME_FIT
        parent_a, parent_b = self._parent(key_a), self._parent(key_b)
        if key_b == parent_a or key_a == parent_b:
            return PARENT_FIT
        if parent_a is not None and parent_a == parent_b:
            return SIBLING_FIT
        return 0.0

    def compatible_keys(self, key: str) -> frozenset[str]:
        """Every key with a fit above zero: the item, its parent, children and siblings."""
        keys = {key, *self._children.get(key, ())}
        parent = self._parent(key)
        if parent is not None:
            keys |= {parent, *self._children.get(parent, ())}
        return frozenset(keys)

    def family(self, key: str) -> str:
        """What an item shares with its siblings in the candidate index: its parent's key, or its own at the top."""
        return self._parent(key) or key

    def families(self) -> dict[str, str]:
        """Each catalogue item's family (custom items are their own)."""
        return {item.key: self.family(item.key) for item in self.items}

    def reading(self, key: str) -> tuple[frozenset[str], frozenset[str]]:
        """How the candidate index reads what is compatible with ``key``: (items read one by one, families read
        whole but for ``key`` itself). Together they are exactly :meth:`compatible_keys`.

        A family is read with one probe per cell however many siblings it has, where reading each sibling on
        its own was ten probes per cell for a staple item.
        """
        items, families = {key}, set()
        if self._children.get(key):
            families.add(key)  # its children
        parent = self._parent(key)
        if parent is not None:
            families.add(parent)  # its siblings, and the parent itself when the parent is at the top
            if self._parent(parent) is not None:
                items.add(parent)  # a parent with a parent of its own is in that one's family
        return frozenset(items), frozenset(families)

    def search(self, prefix: str, sector: str | None = None, limit: int = 25) -> list[Item]:
        """Items for autocomplete: those of ``sector`` first, best matches first.

        A match starts the label, a synonym or one of their words; an empty
        prefix lists the most requested items (of the sector, if given).
        """
        sector_key = sector_by_key(sector).key if sector else None
        query = " ".join(_words(prefix))
        ranked = []
        for position, item in enumerate(self.items):
            strength = self._match_strength(item, query)
            if strength is None:
                continue
            other_sector = sector_key is not None and item.sector != sector_key
            order = self._sector_rank[item.key] if not query else position
            ranked.append((other_sector, strength, order, item))
        ranked.sort(key=lambda entry: entry[:3])
        found = [entry[3] for entry in ranked[: max(limit, 0)]]
        if len(found) < limit:
            found += [item for item in self._close_items(normalise(prefix), sector_key) if item not in found]
        return found[: max(limit, 0)]

    def _close_items(self, wanted: str, sector_key: str | None) -> list[Item]:
        """Items spelt close to ``wanted`` (the chosen sector's first), for autocomplete after prefix matches."""
        if len(wanted) < MIN_TYPO_LENGTH:
            return []
        hits = process.extract(
            wanted, self._all_fuzzy_terms, scorer=OSA.normalized_similarity, score_cutoff=TYPO_SIMILARITY, limit=10
        )
        hits.sort(key=lambda hit: (self._by_key[hit[2][0]].sector != sector_key, -hit[1]))
        return list({self._by_key[key]: None for _, _, (key, _) in hits})

    def units(self, prefix: str = "", item_key: str | None = None) -> list[str]:
        """Units starting with ``prefix`` for autocomplete: the item's usual ones first, then the common ones."""
        wanted = prefix.strip().casefold()
        item = self._by_key.get(item_key or "")
        ordered = dict.fromkeys((*(item.usual_units if item else ()), *self.unit_names))
        return [unit for unit in ordered if unit.casefold().startswith(wanted)][:25]

    def unit(self, item_key: str, text: str) -> Unit:
        """A post's unit read with what the catalogue knows of the item's pack sizes."""
        item = self._by_key.get(item_key)
        return parse_unit(text, item.sizes if item else ())

    def _parent(self, key: str) -> str | None:
        item = self._by_key.get(key)
        return item.parent if item else None

    def _match_strength(self, item: Item, query: str) -> int | None:
        """0: the label starts with the query; 1: a synonym does; 2: a later word does."""
        if not query:
            return 0
        terms = self._search_terms[item.key]
        if terms[0].startswith(query):
            return 0
        if any(term.startswith(query) for term in terms):
            return 1
        if any(f" {query}" in f" {term}" for term in terms):
            return 2
        return None

    @staticmethod
    def _index_terms(items: tuple[Item, ...]) -> dict[str, Item]:
        by_term: dict[str, Item] = {}
        for item in items:
            for term in (item.key, item.label, *item.synonyms):
                owner = by_term.setdefault(normalise(term), item)
                if owner is not item:
                    raise SettingsError(f"taxonomy: “{term}” names both {owner.key} and {item.key}")
        return by_term


def _closest(wanted: str, terms: dict[tuple[str, ...], str], cutoff: float) -> tuple[str, ...] | None:
    """The key of the term nearest ``wanted`` with a similarity of at least ``cutoff``, or None.

    Ties go to the first term, which is the catalogue's order (its most requested items first).
    """
    if not terms:
        return None
    found = process.extractOne(wanted, terms, scorer=OSA.normalized_similarity, score_cutoff=cutoff)
    return found[2] if found is not None else None


def _parse_item(raw: dict[str, Any], units: set[str]) -> Item:
    key = str(raw.get("key", ""))
    if not _KEY.fullmatch(key):
        raise SettingsError(f"taxonomy: item key {key!r} is not a lowercase snake_case slug")
    label = str(raw.get("label", "")).strip()
    if not label or len(label) > MAX_LABEL:
        raise SettingsError(f"taxonomy: {key} needs a label of 1 to {MAX_LABEL} characters")
    sector = str(raw.get("sector", ""))
    if sector not in {s.key for s in SECTORS}:
        raise SettingsError(f"taxonomy: {key} has unknown sector {sector!r}")
    unit = str(raw.get("unit", "units"))
    if unit not in units:
        raise SettingsError(f"taxonomy: {key} has unit {unit!r}, which is not in the units list")
    synonyms = tuple(str(s) for s in raw.get("synonyms", ()))
    parent = raw.get("parent")
    usual = tuple(dict.fromkeys((unit, *(str(u) for u in raw.get("units", ())))))
    sizes = tuple(sorted((singular(str(k).casefold()), str(v)) for k, v in raw.get("sizes", {}).items()))
    for noun, size in sizes:
        try:
            parse_unit(f"{noun} of {size}")
        except UnitError as exc:
            raise SettingsError(f"taxonomy: {key} has an unreadable size for {noun!r}: {exc}") from exc
    return Item(key, label, sector, synonyms, str(parent) if parent else None, unit, usual, sizes)


def _check_keys(items: tuple[Item, ...]) -> None:
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise SettingsError("taxonomy: an item key is used twice")
    for item in items:
        if item.parent is not None and item.parent not in keys:
            raise SettingsError(f"taxonomy: {item.key} has unknown parent {item.parent!r}")


@lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    """The taxonomy in ``config/taxonomy.toml``, loaded once."""
    return Taxonomy.load()
