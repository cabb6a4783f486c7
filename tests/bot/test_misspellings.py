"""Typing in a hurry: the committed corpus of misspelt items and places resolves as a coordinator meant."""

from __future__ import annotations

import pytest

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
