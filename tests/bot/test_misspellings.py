"""Typing in a hurry: the committed corpus of misspelt items and places resolves as a coordinator meant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.misspellings import corpus, measure
from bot.geo import default_gazetteer
from bot.taxonomy import default_taxonomy


def test_the_corpus_is_large_and_covers_items_places_and_new_items():
    rows = corpus()
    assert len(rows) >= 200
    assert {row.kind for row in rows} == {"item", "place"}
    assert sum(row.expected == "custom" and row.kind == "item" for row in rows) >= 20
    keys = {item.key for item in default_taxonomy().items}
    assert all(row.expected in keys | {"custom"} for row in rows if row.kind == "item")


def test_top1_resolution_is_at_least_95_percent_with_no_wrong_sector():
    scores = measure(corpus(), default_taxonomy(), default_gazetteer())
    for kind in ("item", "place", "all"):
        score = scores[kind]
        print(f"{kind}: top-1 {score.accuracy:.1%} ({score.right}/{score.total})")
        assert score.accuracy >= 0.95, score.wrong
    assert scores["all"].cross_sector == []


@pytest.mark.parametrize(
    ("typed", "sector", "key"),
    [("insuline", "health", "insulin"), ("hygeine kit", "wash", "hygiene_kits"),
     ("tarpolin", "shelter", "tarpaulin"), ("baby formla", "nutrition", "baby_formula")],
)  # fmt: skip
def test_the_issues_own_examples_resolve_and_say_they_were_corrected(typed, sector, key):
    ref = default_taxonomy().resolve_item(typed, sector)
    assert (ref.key, ref.known, ref.corrected) == (key, True, True)


_TERMS = [
    (item.key, item.sector, term)
    for item in default_taxonomy().items
    for term in (item.label, *item.synonyms)
    if len(term) >= 6
]


@st.composite
def typo(draw):
    """A catalogue term with one slip of the finger: a letter dropped, doubled, swapped or replaced."""
    key, sector, term = draw(st.sampled_from(_TERMS))
    at = draw(st.integers(0, len(term) - 2))
    slip = draw(st.sampled_from(["drop", "double", "swap", "replace"]))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    typed = {
        "drop": term[:at] + term[at + 1 :],
        "double": term[:at] + term[at] + term[at:],
        "swap": term[:at] + term[at + 1] + term[at] + term[at + 2 :],
        "replace": term[:at] + letter + term[at + 1 :],
    }[slip]
    return key, sector, typed


@settings(max_examples=400, deadline=None)
@given(case=typo())
def test_one_slip_never_lands_in_another_sector(case):
    _key, sector, typed = case
    ref = default_taxonomy().resolve_item(typed, sector)
    assert not ref.known or ref.sector == sector, (typed, ref)


_PLACES = [p for p in default_gazetteer() if p.population >= 500_000 and p.name.isascii()][:300]


@settings(max_examples=200, deadline=None)
@given(place=st.sampled_from(_PLACES), upper=st.booleans(), spaces=st.integers(0, 2))
def test_case_and_spacing_never_change_which_place_a_name_resolves_to(place, upper, spaces):
    gazetteer = default_gazetteer()
    typed = (" " * spaces).join(["", place.name.upper() if upper else place.name.lower(), ""])
    assert gazetteer.resolve(typed) == gazetteer.resolve(place.name)
