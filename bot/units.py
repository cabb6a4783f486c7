"""Units of quantity: what a post counts in, and when two posts' quantities convert.

A unit is read into *measures*: what one of it amounts to in each dimension it
has. "litres" measures volume (1 L); "kg" mass; "bottles" only a count of
bottles; "bottles of 1.5 L" both a count of bottles (1) and a volume (1.5 L);
"cartons of 24 tins" a count of cartons (1) and of tins (24). Physical
dimensions (volume, mass, length, area) and their conversions come from pint;
counts are named by their noun, so bottles never turn into litres, nor tins
into cartons, unless a size says how.

Two posts' quantities convert when their units share a dimension: the factor is
the ratio of their measures in it. What moves between them is whole in the
offer's unit (goods ship in whole bottles, cartons, litres) and is credited to
the need rounded down, so a need is never told it received more than it did and
neither side is ever committed beyond its quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import pint

from bot.text import escape

# pint's dimensions that goods are measured in; time is left out on purpose (a volunteer "day" is not 24 hours).
PHYSICAL = {
    (("[length]", 3),): "volume",
    (("[mass]", 1),): "mass",
    (("[length]", 1),): "length",
    (("[length]", 2),): "area",
}
# Words people use for "one of the item", whatever it is: all the same count.
GENERIC = {"unit", "each", "ea", "pc", "pcs", "piece", "item", "no", "nos", "number", "qty", "x"}
# The physical units goods are counted in. pint knows many more, some of them also everyday container words
# ("bag" is 94 lb of cement, "cup", "barrel", "stone"): those stay counts of the container here.
MEASURES = {
    "liter", "milliliter", "centiliter", "gallon", "imperial_gallon", "quart", "meter ** 3",
    "kilogram", "gram", "milligram", "pound", "ounce", "metric_ton",
    "meter", "centimeter", "kilometer", "foot", "inch", "yard", "meter ** 2", "foot ** 2", "hectare",
}  # fmt: skip
# How a physical unit is written in a conversion ("200 L ≈ 52.8 gal").
SYMBOLS = {
    "liter": "L",
    "milliliter": "mL",
    "gallon": "gal",
    "meter ** 3": "m³",
    "kilogram": "kg",
    "gram": "g",
    "pound": "lb",
    "metric_ton": "t",
    "ounce": "oz",
    "meter": "m",
    "foot": "ft",
    "meter ** 2": "m²",
    "foot ** 2": "ft²",
}
# Spelled-out names pint does not know, or reads otherwise ("t" is a tonne to a logistician).
ALIASES = {
    "litre": "liter",
    "litres": "liter",
    "l": "liter",
    "ltr": "liter",
    "ltrs": "liter",
    "millilitre": "milliliter",
    "millilitres": "milliliter",
    "ml": "milliliter",
    "gal": "gallon",
    "gals": "gallon",
    "gallons": "gallon",
    "m3": "meter ** 3",
    "m³": "meter ** 3",
    "cubic metre": "meter ** 3",
    "cubic metres": "meter ** 3",
    "kilo": "kilogram",
    "kilos": "kilogram",
    "kgs": "kilogram",
    "lbs": "pound",
    "t": "metric_ton",
    "tonne": "metric_ton",
    "tonnes": "metric_ton",
    "metric ton": "metric_ton",
    "metric tons": "metric_ton",
    "metre": "meter",
    "metres": "meter",
    "m2": "meter ** 2",
    "m²": "meter ** 2",
    "sqm": "meter ** 2",
    "square metre": "meter ** 2",
    "square metres": "meter ** 2",
    "square meters": "meter ** 2",
    "sq ft": "foot ** 2",
    "square feet": "foot ** 2",
}
# How a physical unit reads in a post ("250 litres").
NAMES = {
    "liter": "litres",
    "milliliter": "mL",
    "gallon": "gallons",
    "meter ** 3": "m³",
    "kilogram": "kg",
    "gram": "g",
    "pound": "lb",
    "metric_ton": "tonnes",
    "ounce": "oz",
    "meter": "metres",
    "foot": "ft",
    "meter ** 2": "square metres",
    "foot ** 2": "sq ft",
}
MAX_NESTING = 3
MAX_SIZE = 1_000_000
EPSILON = Fraction(1, 10**9)

_SIZE_OF = re.compile(r"^(?P<noun>[^\d()]+?)\s+of\s+(?P<size>\d.*)$")  # "cartons of 24 tins"
_SIZE_PAREN = re.compile(r"^(?P<noun>[^()]+?)\s*\(\s*(?P<size>\d[^()]*)\)$")  # "bottles (1.5 L)"
_SIZE_FIRST = re.compile(r"^(?P<size>\d[\d.,]*\s*-?\s*[^\d\s-][^\s]*)\s+(?P<noun>[^\d]+)$")  # "1.5 L bottles"
_AMOUNT = re.compile(r"^(?P<number>\d+(?:[.,]\d+)?)\s*-?\s*(?P<unit>.+)$")


class UnitError(ValueError):
    """A unit text that can't be read; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Unit:
    """A post's unit: its label, and what one of it measures in each of its dimensions."""

    label: str
    measures: tuple[tuple[str, Fraction], ...]
    # The physical unit each physical dimension is measured in here ("liter"), to write conversions.
    bases: tuple[tuple[str, str], ...] = ()

    def __hash__(self) -> int:
        # By label alone: equal units share it, and hashing the measures' fractions made every cached
        # conversion lookup (bot.units.factor, once per candidate a post ranks) cost microseconds.
        return hash(self.label)

    def measure(self, dimension: str) -> Fraction | None:
        return dict(self.measures).get(dimension)

    @property
    def dimensions(self) -> frozenset[str]:
        return frozenset(d for d, _ in self.measures)

    @property
    def size_stated(self) -> bool:
        return len(self.measures) > 1


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """pint's registry, built once (about 0.35 s, at start-up)."""
    # Fractions, not floats: 1 gal is exactly 3.785411784 L, and conversions stay exact until shown.
    return pint.UnitRegistry(non_int_type=Fraction)


def _words(text: str) -> str:
    return " ".join(text.casefold().replace("_", " ").split())


def singular_word(word: str) -> str:
    """Strip a plural ending, conservatively: both sides of a comparison go through it (items and units)."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def singular(noun: str) -> str:
    """A count noun's singular: its last word's, and abbreviated plurals too ("pcs", "kgs")."""
    words = noun.split()
    if not words:
        return noun
    last = words[-1]
    last = last[:-1] if len(last) == 3 and last.endswith("s") and not last.endswith("ss") else singular_word(last)
    return " ".join([*words[:-1], last])


def _physical(text: str) -> tuple[str, str, Fraction] | None:
    """(dimension, pint unit name, 1 of it in the dimension's base unit) for a physical unit, else None."""
    name = ALIASES.get(text, text)
    ureg = registry()
    try:
        unit = ureg.Unit(name)
    except Exception:  # pint's parser raises assorted errors on odd text: any of them means "not physical"
        return None
    dimension = PHYSICAL.get(tuple(sorted((str(k), int(v)) for k, v in unit.dimensionality.items())))
    canonical = _canonical(ureg, name)
    if dimension is None or canonical not in MEASURES:
        return None
    in_base = ureg.Quantity(Fraction(1), unit).to_base_units().magnitude
    return dimension, canonical, Fraction(in_base)


def _canonical(ureg: pint.UnitRegistry, name: str) -> str:
    """pint's own name of a unit ("litres" -> "liter"); compound ones ("meter ** 3") as written."""
    try:
        return ureg.get_name(name)
    except Exception:  # pint refuses compound expressions here; they are named as written
        return name


def _number(text: str) -> Fraction:
    return Fraction(text.replace(",", "."))


@lru_cache(maxsize=4096)
def parse(text: str, sizes: tuple[tuple[str, str], ...] = ()) -> Unit:
    """Read a unit as people write it; ``sizes`` are the catalogue's known sizes for the item ("carton": "24 tins").

    Raises :class:`UnitError` for a unit that can't be right (a size of zero, nesting too deep).
    """
    return _parse(_words(text), dict(sizes), 0)


def _parse(text: str, sizes: dict[str, str], depth: int) -> Unit:
    if depth > MAX_NESTING:
        raise UnitError("That unit nests too many sizes; say it as e.g. “cartons of 24 tins”.")
    if not text:
        return count_unit("units")
    physical = _physical(text)
    if physical is not None:
        dimension, name, in_base = physical
        return Unit(NAMES.get(name, name), ((dimension, in_base),), ((dimension, name),))
    for pattern in (_SIZE_OF, _SIZE_PAREN, _SIZE_FIRST):
        found = pattern.match(text)
        if found:
            return _sized(found["noun"].strip(), found["size"].strip(), sizes, depth)
    noun = singular(text)
    if noun in sizes:
        return _sized(text, sizes[noun], sizes, depth)
    return count_unit(text)


def count_unit(text: str) -> Unit:
    """A plain count of something ("tins", "kits"): it converts only to the same noun."""
    noun = singular(_words(text))
    if noun in GENERIC:
        return Unit("units", (("count:unit", Fraction(1)),))
    return Unit(_words(text), ((f"count:{noun}", Fraction(1)),))


def _sized(noun_text: str, size_text: str, sizes: dict[str, str], depth: int) -> Unit:
    amount = _AMOUNT.match(size_text)
    if amount is None:
        raise UnitError(f"Say the size as a number and a unit, like “{escape(noun_text)} of 24 tins” or “(1.5 L)”.")
    number = _number(amount["number"])
    if not 0 < number <= MAX_SIZE:
        raise UnitError(f"A size must be more than zero and at most {MAX_SIZE:,}.")
    if _physical(_words(noun_text)) is not None:
        raise UnitError(
            f"“{escape(noun_text)}” is a measure, not a pack: say e.g. “bags of 25 kg” or “cartons of 24 tins”."
        )
    inner = _parse(amount["unit"].strip(), sizes, depth + 1)
    container = count_unit(noun_text)
    if container.dimensions & inner.dimensions:
        raise UnitError(f"“{escape(noun_text)}” can't be measured in itself; give its size in another unit.")
    inner_text = f"{_plain(number)} {_size_label(inner, number)}"
    label = f"{_words(noun_text)} of {inner_text}"
    measures = (*container.measures, *((d, m * number) for d, m in inner.measures))
    return Unit(label, measures, inner.bases)


def _size_label(unit: Unit, number: Fraction) -> str:
    base = dict(unit.bases)
    if len(unit.measures) == 1 and base:
        name = next(iter(base.values()))
        return SYMBOLS.get(name, name)
    if number == 1:
        return singular(unit.label) if " of " not in unit.label else unit.label
    return unit.label


def _plain(number: Fraction | float) -> str:
    value = float(number)
    return f"{value:,.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


@lru_cache(maxsize=4096)
def factor(need: Unit, offer: Unit) -> Fraction | None:
    """How many of the need's unit one of the offer's unit is, or None when nothing says how they convert.

    Counts of the same noun come first (a bottle is a bottle, whatever its size);
    otherwise a shared physical dimension (volume, mass...) converts them.
    """
    shared = need.dimensions & offer.dimensions
    if not shared:
        return None
    counts = sorted(d for d in shared if d.startswith("count:"))
    dimension = counts[0] if counts else sorted(shared)[0]
    need_measure, offer_measure = need.measure(dimension), offer.measure(dimension)
    if not need_measure or not offer_measure:
        return None
    return offer_measure / need_measure


@dataclass(frozen=True, slots=True)
class Movement:
    """What a pair moves: ``offer`` in the offer's unit (whole), ``need`` credited in the need's (rounded down)."""

    offer: int
    need: int

    def __bool__(self) -> bool:
        return self.offer > 0 and self.need > 0


def movement(need_remaining: int, offer_remaining: int, ratio: Fraction | int | None) -> Movement:
    """The most a pair can move now without over-committing either side in its own unit.

    The offer ships whole units: as few as cover the need, or all it has left. The
    need is credited what arrives, rounded down to its own unit and never more
    than it asked. ``ratio`` is :func:`factor` (need units per offer unit).
    """
    if ratio is None or ratio <= 0 or need_remaining <= 0 or offer_remaining <= 0:
        return Movement(0, 0)
    if ratio == 1:  # the same unit: the common case, without fractions
        moved = min(need_remaining, offer_remaining)
        return Movement(moved, moved)
    # ceil(need / ratio - EPSILON) and floor(moves * ratio + EPSILON) in whole numbers: exactly the same values,
    # without building Fractions (a post ranks hundreds of candidates in other units).
    n, d, scale = ratio.numerator, ratio.denominator, EPSILON.denominator
    to_cover = -((n - need_remaining * d * scale) // (n * scale))
    offer_moves = max(0, min(offer_remaining, to_cover))
    need_credited = min(need_remaining, (offer_moves * n * scale + d) // (d * scale))
    if need_credited <= 0:
        return Movement(0, 0)
    return Movement(offer_moves, need_credited)


def convert(quantity: int, ratio: Fraction) -> Fraction:
    """``quantity`` of the offer's unit in the need's unit, exactly."""
    return quantity * ratio


def amount(quantity: int | Fraction | float, unit: Unit | str) -> str:
    """ "250 litres", "1,200 cartons of 24 tins": a quantity in its own unit, for people."""
    label = unit.label if isinstance(unit, Unit) else unit
    return f"{_plain(quantity)} {label}"


def conversion(offer_quantity: int, offer_unit: Unit, need_unit: Unit) -> str | None:
    """ "200 L ≈ 52.8 gal" or "5 cartons of 24 tins = 120 tins": shown whenever a pair converts units.

    None when both sides count in the same unit.
    """
    ratio = factor(need_unit, offer_unit)
    if ratio is None or offer_unit.label == need_unit.label:
        return None
    converted = convert(offer_quantity, ratio)
    exact = converted.denominator == 1
    sign = "=" if exact else "≈"
    shown = _plain(converted) if exact else _rounded(converted)
    return f"{_short(offer_quantity, offer_unit)} {sign} {shown} {_short_label(need_unit)}"


def _rounded(value: Fraction) -> str:
    number = float(value)
    digits = 1 if abs(number) >= 10 else 2
    return f"{number:,.{digits}f}"


def _short(quantity: int, unit: Unit) -> str:
    return f"{_plain(quantity)} {_short_label(unit)}"


def _short_label(unit: Unit) -> str:
    if len(unit.measures) == 1 and unit.bases:
        name = dict(unit.bases)[unit.measures[0][0]]
        return SYMBOLS.get(name, unit.label)
    return unit.label


def mismatch_hint(need: Unit, offer: Unit, *, item: str, own: Unit, other_kind: str) -> str:
    """Why a pair of compatible items was not proposed: their units don't convert. Said to the poster."""
    other = offer if own is need else need
    if any(d.startswith("count:") for d in own.dimensions) and not own.size_stated:
        example = _example_size(other)
        return (
            f"{other_kind} of {item} exist in {other.label}; say your {singular(own.label)} size to match them "
            f"(e.g. unit “{own.label} of {example}”)."
        )
    return f"{other_kind} of {item} exist in {other.label}, which doesn't convert to {own.label}."


def _example_size(unit: Unit) -> str:
    """A plausible size in ``unit``'s terms, for a hint: "1.5 L", "25 kg", "24 tins"."""
    bases = dict(unit.bases)
    for dimension, example in (("volume", "1.5 L"), ("mass", "25 kg"), ("length", "10 m"), ("area", "10 m²")):
        if dimension in bases:
            return example
    return f"24 {unit.label}"
