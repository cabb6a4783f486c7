"""The sector list and the item catalogue: resolving what people type, and item fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InvalidInput, SettingsError, UnknownSector
from bot.taxonomy import SECTORS, Taxonomy, default_taxonomy, sector_by_key


@pytest.fixture
def taxonomy() -> Taxonomy:
    return default_taxonomy()


def test_there_are_the_eleven_iasc_sectors_with_discord_sized_labels():
    assert [s.key for s in SECTORS] == [
        "camp",
        "early_recovery",
        "education",
        "shelter",
        "telecom",
        "food",
        "health",
        "logistics",
        "nutrition",
        "protection",
        "wash",
    ]
    assert all(len(s.label) <= 100 for s in SECTORS)


@pytest.mark.parametrize("text", ["wash", "WASH", " Emergency  Shelter ", "early recovery", "Early_Recovery"])
def test_a_sector_is_found_by_key_or_label_in_any_case(text):
    assert sector_by_key(text).key in {"wash", "shelter", "early_recovery"}


def test_an_unknown_sector_names_the_valid_keys():
    with pytest.raises(UnknownSector) as caught:
        sector_by_key("Housing")
    message = caught.value.message
    assert "housing" in message.casefold()
    assert all(s.key in message for s in SECTORS)


def test_the_shipped_catalogue_is_well_formed(taxonomy):
    keys = {item.key for item in taxonomy.items}
    assert 60 <= len(keys) <= 120
    assert all(item.parent is None or item.parent in keys for item in taxonomy.items)
    assert all(len(item.label) <= 100 for item in taxonomy.items)
    assert {s.key for s in SECTORS} == {item.sector for item in taxonomy.items}


@pytest.mark.parametrize("text", ["tarp", "Tarps", "tarpaulin", "TARPAULINS", "plastic  sheeting"])
def test_tarp_and_tarpaulin_are_the_same_item(taxonomy, text):
    ref = taxonomy.resolve_item(text)
    assert (ref.key, ref.sector, ref.known) == ("tarpaulin", "shelter", True)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("water bottles", "bottled_water"),
        ("Drinking water", "bottled_water"),
        ("MREs", "ready_to_eat_meals"),
        ("nappies", "diapers"),
        ("RUTF", "therapeutic_food"),
        ("jerry cans", "jerrycans"),
        ("first-aid kit", "first_aid_kits"),
        ("interpreters", "translators"),
        ("hygiene_kits", "hygiene_kits"),
        ("batteries", "batteries"),
    ],
)
def test_synonyms_plurals_and_keys_resolve_to_the_catalogue_item(taxonomy, text, key):
    assert taxonomy.resolve_item(text).key == key


def test_free_text_becomes_a_custom_item_in_the_chosen_sector(taxonomy):
    ref = taxonomy.resolve_item("  Solar   panels ", sector="Emergency Shelter")
    assert ref.known is False
    assert ref.key == "custom:solar_panel"
    assert ref.label == "Solar panels"
    assert ref.sector == "shelter"
    assert taxonomy.resolve_item("solar panel").key == ref.key


def test_a_custom_key_resolves_to_itself(taxonomy):
    assert taxonomy.resolve_item("custom:solar_panel").key == "custom:solar_panel"


@pytest.mark.parametrize("text", ["", "   ", "x" * 81, "!!!"])
def test_empty_overlong_or_wordless_item_text_is_refused(taxonomy, text):
    with pytest.raises(InvalidInput):
        taxonomy.resolve_item(text)


def test_an_unknown_sector_for_an_item_is_refused(taxonomy):
    with pytest.raises(UnknownSector):
        taxonomy.resolve_item("blankets", sector="housing")


def test_fit_is_full_for_the_same_item_and_partial_for_family(taxonomy):
    assert taxonomy.fit("bottled_water", "bottled_water") == 1.0
    assert taxonomy.fit("bottled_water", "water") == 0.7
    assert taxonomy.fit("water", "bottled_water") == 0.7
    assert taxonomy.fit("bottled_water", "water_trucking") == 0.5
    assert taxonomy.fit("medical_volunteers", "volunteer_drivers") == 0.5
    assert taxonomy.fit("bottled_water", "tarpaulin") == 0.0
    assert taxonomy.fit("custom:solar_panel", "custom:solar_panel") == 1.0
    assert taxonomy.fit("custom:solar_panel", "solar_lamps") == 0.0


def test_compatible_keys_are_exactly_those_with_some_fit(taxonomy):
    keys = taxonomy.compatible_keys("insulin")
    assert {"insulin", "medicines", "antibiotics"} <= keys
    every = {item.key for item in taxonomy.items}
    assert keys == {k for k in every if taxonomy.fit("insulin", k) > 0}
    assert taxonomy.compatible_keys("custom:solar_panel") == {"custom:solar_panel"}


def test_the_index_reads_exactly_the_compatible_items_by_item_and_family(taxonomy):
    every = [item.key for item in taxonomy.items] + ["custom:solar_panel"]
    family_of = {key: taxonomy.family(key) for key in every}

    for key in every:
        items, families = taxonomy.reading(key)
        read = set(items) | {other for other, family in family_of.items() if family in families and other != key}
        assert read | {key} == taxonomy.compatible_keys(key), key
        assert not items & {other for other in read - items if family_of[other] in families}  # each item read once
    assert taxonomy.reading("staple_food") == ({"staple_food"}, {"staple_food", "food"})  # 11 items, 3 reads
    assert taxonomy.reading("rice") == ({"rice", "staple_food"}, {"staple_food"})
    assert taxonomy.reading("custom:solar_panel") == ({"custom:solar_panel"}, set())


def test_search_puts_the_chosen_sector_first_and_label_starts_before_word_matches(taxonomy):
    found = [item.key for item in taxonomy.search("wat", sector="wash")]
    assert found[0] == "water"
    assert found.index("water_purification_tablets") < found.index("bottled_water")
    sectors = [taxonomy.get(key).sector for key in found]
    assert sectors == sorted(sectors, key=lambda s: s != "wash")


def test_search_finds_items_by_synonym_and_word_prefix(taxonomy):
    assert "tarpaulin" in [i.key for i in taxonomy.search("plastic")]
    assert "tarpaulin" in [i.key for i in taxonomy.search("shee")]
    assert "satellite_phones" in [i.key for i in taxonomy.search("sat ph")]
    assert taxonomy.search("zzzz") == []


def test_empty_search_lists_the_sector_s_common_items_first(taxonomy):
    found = taxonomy.search("", sector="health", limit=5)
    assert [item.key for item in found][:2] == ["medicines", "insulin"]
    assert all(item.sector == "health" for item in found)
    assert len(taxonomy.search("", limit=25)) == 25


def test_units_autocomplete_by_prefix_within_discord_s_25_choices(taxonomy):
    assert taxonomy.units("bo") == ["bottles", "boxes"]
    assert taxonomy.units(" K") == ["kits", "kg"]
    assert "litres" in taxonomy.units("")
    assert len(taxonomy.units("")) == 25
    assert all(item.unit in taxonomy.unit_names for item in taxonomy.items)


def test_a_word_naming_two_items_is_refused_at_load(tmp_path: Path):
    path = tmp_path / "taxonomy.toml"
    path.write_text(
        'units = ["units"]\n'
        '[[items]]\nkey = "tents"\nlabel = "Tents"\nsector = "shelter"\nsynonyms = ["shelter"]\n'
        '[[items]]\nkey = "shelter_kits"\nlabel = "Shelter kits"\nsector = "shelter"\nsynonyms = ["shelters"]\n',
        encoding="utf-8",
    )
    with pytest.raises(SettingsError, match="shelter"):
        Taxonomy.load(path)


def test_a_typo_reads_as_an_item_of_the_chosen_sector_first(taxonomy):
    ref = taxonomy.resolve_item("insuline", "health")
    assert (ref.key, ref.label, ref.corrected) == ("insulin", "Insulin", True)
    assert not taxonomy.resolve_item("insulin", "health").corrected


def test_another_sectors_item_needs_a_closer_spelling(taxonomy):
    # One edit in eleven letters is close enough from any sector; one in eight or two in nine is not.
    assert taxonomy.resolve_item("hygene kits", "health").key == "hygiene_kits"
    assert taxonomy.resolve_item("insuline", "wash").key == "custom:insuline"
    assert taxonomy.resolve_item("tarpolin", "health").key == "custom:tarpolin"
    assert taxonomy.resolve_item("tarpolin", "shelter").key == "tarpaulin"


@pytest.mark.parametrize("text", ["ice", "coats", "solar panels", "tent pegs", "sunscreen"])
def test_short_words_and_new_things_stay_custom(taxonomy, text):
    ref = taxonomy.resolve_item(text, "shelter")
    assert not ref.known and ref.key.startswith("custom:")


def test_custom_items_in_use_match_a_close_spelling(taxonomy):
    in_use = [("custom:solar_panel", "solar panels"), ("custom:tent_peg", "tent pegs")]
    ref = taxonomy.resolve_item("solar panles", "shelter", in_use)
    assert (ref.key, ref.label, ref.known, ref.corrected) == ("custom:solar_panel", "solar panels", False, True)
    assert taxonomy.resolve_item("Solar Panel", "shelter", in_use).key == "custom:solar_panel"
    assert taxonomy.resolve_item("solar lamps", "shelter", in_use).key == "solar_lamps"
    assert taxonomy.resolve_item("sunscreen", "shelter", in_use).key == "custom:sunscreen"


@pytest.mark.parametrize(
    ("typed", "sector", "label"),
    [("insuline", "health", "Insulin"), ("tarpolin", "shelter", "Tarpaulin"), ("baby formla", None, "Baby formula")],
)
def test_autocomplete_suggests_the_item_a_typo_is_close_to(taxonomy, typed, sector, label):
    assert taxonomy.search(typed, sector)[0].label == label


def test_autocomplete_keeps_prefix_matches_first_and_short_text_unguessed(taxonomy):
    assert taxonomy.search("insu", "health")[0].key == "insulin"
    assert taxonomy.search("ice", "food") == []
