"""Units are quantities: how posts' units are read, when they convert, and what a pair moves."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.taxonomy import default_taxonomy
from bot.units import Movement, Unit, UnitError, conversion, factor, movement, parse

READ_AS = [
    ("litres", "litres"),
    ("L", "litres"),
    ("Liters", "litres"),
    ("ltr", "litres"),
    ("gallons", "gallons"),
    ("gal", "gallons"),
    ("m3", "m³"),
    ("cubic metres", "m³"),
    ("kg", "kg"),
    ("kilos", "kg"),
    ("lbs", "lb"),
    ("pounds", "lb"),
    ("tonnes", "tonnes"),
    ("t", "tonnes"),
    ("square metres", "square metres"),
    ("bottles", "bottles"),
    ("Bottles", "bottles"),
    ("bottles (1.5 L)", "bottles of 1.5 L"),
    ("bottle of 1.5 litres", "bottle of 1.5 L"),
    ("1.5 L bottles", "bottles of 1.5 L"),
    ("1,5 L bottles", "bottles of 1.5 L"),
    ("5-gallon jugs", "jugs of 5 gal"),
    ("cartons of 24 tins", "cartons of 24 tins"),
    ("carton (24 tins)", "carton of 24 tins"),
    ("25 kg bags", "bags of 25 kg"),
    ("bags (25 kg)", "bags of 25 kg"),
    ("pallets of 40 cartons of 24 tins", "pallets of 40 cartons of 24 tins"),
    ("units", "units"),
    ("each", "units"),
    ("pcs", "units"),
    ("pieces", "units"),
    ("kits", "kits"),
    ("bags", "bags"),  # pint's "bag" is 94 lb of cement: here it is a count of bags
    ("cups", "cups"),
    ("barrels", "barrels"),
    ("hours", "hours"),  # a volunteer hour is not converted to days
]


@pytest.mark.parametrize(("typed", "label"), READ_AS)
def test_a_unit_is_read_as_people_mean_it(typed, label):
    assert parse(typed).label == label


CONVERSIONS = [
    # (need's unit, offer's unit, offer quantity, what the offer's quantity is in the need's unit)
    ("gallons", "litres", 200, "200 L ≈ 52.8 gal"),
    ("litres", "gallons", 10, "10 gal ≈ 37.9 L"),
    ("litres", "m³", 3, "3 m³ = 3,000 L"),
    ("lb", "kg", 10, "10 kg ≈ 22.0 lb"),
    ("kg", "tonnes", 2, "2 t = 2,000 kg"),
    ("tins", "cartons of 24 tins", 5, "5 cartons of 24 tins = 120 tins"),
    ("cartons of 24 tins", "tins", 100, "100 tins ≈ 4.17 cartons of 24 tins"),
    ("bottles of 1.5 L", "litres", 250, "250 L ≈ 166.7 bottles of 1.5 L"),
    ("litres", "bottles (0.5 L)", 24, "24 bottles of 0.5 L = 12 L"),
    ("kg", "bags of 25 kg", 4, "4 bags of 25 kg = 100 kg"),
]


@pytest.mark.parametrize(("need", "offer", "quantity", "shown"), CONVERSIONS)
def test_units_that_convert_show_the_conversion(need, offer, quantity, shown):
    assert conversion(quantity, parse(offer), parse(need)) == shown


NEVER = [
    ("bottles", "litres"),  # no bottle size: 250 litres are not 250 bottles
    ("tins", "cartons"),  # no carton size
    ("cartons of 24 tins", "boxes"),
    ("kits", "units"),
    ("kg", "litres"),  # mass is not volume
    ("hours", "days"),
    ("bottles of 1.5 L", "kg"),
    ("people", "families"),
]


@pytest.mark.parametrize(("need", "offer"), NEVER)
def test_units_that_nothing_relates_never_convert(need, offer):
    assert factor(parse(need), parse(offer)) is None
    assert factor(parse(offer), parse(need)) is None
    assert not movement(500, 250, factor(parse(need), parse(offer)))


def test_the_catalogue_states_sizes_that_never_vary():
    taxonomy = default_taxonomy()

    cases = taxonomy.unit("ready_to_eat_meals", "cases")

    assert cases.label == "cases of 12 meals"
    assert factor(taxonomy.unit("ready_to_eat_meals", "meals"), cases) == 12
    # Bottles and cartons vary: the catalogue leaves their size to the poster.
    assert factor(taxonomy.unit("bottled_water", "bottles"), taxonomy.unit("water", "litres")) is None


@pytest.mark.parametrize(
    "typed",
    ["bottles of 0 L", "cartons of 0 tins", "bottles of 99999999 L", "kg of 2 kg", "1e400 kg", "tins of 3 tins"],
)
def test_impossible_sizes_are_refused_with_a_reason(typed):
    with pytest.raises(UnitError):
        parse(typed)


@given(st.text(max_size=40))
def test_any_text_reads_as_a_unit_or_a_clear_refusal(text):
    try:
        unit = parse(text)
    except UnitError as exc:
        assert str(exc)
    else:
        assert unit.measures and all(m > 0 for _, m in unit.measures)


CONVERTIBLE = ["litres", "gallons", "m³", "bottles of 1.5 L", "bottles of 0.5 L", "cases of 6 bottles of 1 L", "mL"]


@given(
    need_unit=st.sampled_from(CONVERTIBLE),
    offer_unit=st.sampled_from(CONVERTIBLE),
    need_remaining=st.integers(1, 10**6),
    offer_remaining=st.integers(1, 10**6),
)
def test_a_pair_moves_whole_offer_units_and_never_credits_more_than_arrives(
    need_unit, offer_unit, need_remaining, offer_remaining
):
    ratio = factor(parse(need_unit), parse(offer_unit))
    assert ratio is not None and ratio > 0

    moves = movement(need_remaining, offer_remaining, ratio)

    assert 0 <= moves.offer <= offer_remaining
    assert 0 <= moves.need <= need_remaining
    assert moves.need <= moves.offer * ratio  # rounding never creates goods on the need's side
    if moves:
        # No whole offer unit more than the need asks for leaves the offer...
        assert (moves.offer - 1) * ratio < need_remaining
        # ...and the need is credited all that arrived, less than one of its own units.
        assert moves.offer * ratio - moves.need < 1 or moves.need == need_remaining
        if moves.offer < offer_remaining:
            assert moves.need == need_remaining  # the offer held back only what the need did not ask for
    else:
        assert math.floor(min(offer_remaining * ratio, Fraction(need_remaining))) == 0


def test_the_stories_move_what_a_logistician_would_sign():
    assert movement(100, 200, factor(parse("gallons"), parse("litres"))) == Movement(offer=200, need=52)
    assert movement(100, 10, factor(parse("tins"), parse("cartons of 24 tins"))) == Movement(offer=5, need=100)
    assert movement(50, 200, factor(parse("gallons"), parse("litres"))) == Movement(offer=190, need=50)


def test_units_with_one_label_and_different_measures_stay_apart_in_the_conversion_cache():
    # A unit hashes by its label alone (cheap, once per candidate a post ranks); equality still reads the measures.
    meals = parse("meals")
    bare = Unit("cases", (("count:case", Fraction(1)),))
    sized = Unit("cases", (("count:case", Fraction(1)), ("count:meal", Fraction(12))))

    assert hash(bare) == hash(sized) and bare != sized
    assert factor(meals, sized) == 12
    assert factor(meals, bare) is None
    assert factor(meals, sized) == 12


@given(
    need=st.sampled_from([typed for typed, _ in READ_AS] + CONVERTIBLE),
    offer=st.sampled_from([typed for typed, _ in READ_AS] + CONVERTIBLE),
)
def test_a_cached_conversion_is_the_conversion(need, offer):
    need_unit, offer_unit = parse(need), parse(offer)

    assert factor(need_unit, offer_unit) == factor.__wrapped__(need_unit, offer_unit)
    assert factor(need_unit, offer_unit) == factor.__wrapped__(Unit(**_fields(need_unit)), Unit(**_fields(offer_unit)))


def _fields(unit: Unit) -> dict[str, object]:
    return {"label": unit.label, "measures": unit.measures, "bases": unit.bases}
