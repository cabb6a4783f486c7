"""The exports as an HXL tool reads them: libhxl validates every file, every tag is in the HXL 1.1 dictionary,
and the 3W pivots by sector."""

from __future__ import annotations

from pathlib import Path

import hxl
import pytest

from bot.interop import export_dir
from tests.bot.test_interop_roundtrip import FILES, lived_in

# The HXL 1.1 core hashtags and the released attributes (HXL-Standard's hashtag and attribute dictionary).
HASHTAGS = {
    "access",
    "activity",
    "adm1",
    "adm2",
    "adm3",
    "adm4",
    "adm5",
    "affected",
    "beneficiary",
    "capacity",
    "cause",
    "channel",
    "contact",
    "country",
    "crisis",
    "currency",
    "date",
    "description",
    "event",
    "frequency",
    "geo",
    "group",
    "impact",
    "indicator",
    "inneed",
    "item",
    "loc",
    "meta",
    "modality",
    "need",
    "operations",
    "org",
    "output",
    "population",
    "reached",
    "region",
    "respondee",
    "sector",
    "service",
    "severity",
    "status",
    "subsector",
    "targeted",
    "value",
}
ATTRIBUTES = {
    "activity",
    "approved",
    "bounds",
    "canceled",
    "cluster",
    "code",
    "converted",
    "coord",
    "dest",
    "elevation",
    "email",
    "end",
    "funder",
    "id",
    "impl",
    "lat",
    "lon",
    "name",
    "num",
    "occurred",
    "origin",
    "phone",
    "prog",
    "provided",
    "reported",
    "source",
    "start",
    "text",
    "type",
    "url",
    "used",
}
# Our own attributes, each explained in docs/interop.md; HXL allows custom lowercase attributes.
CUSTOM = {
    "v_geonames",
    "v_iso3",
    "list",
    "unit",
    "remaining",
    "closed",
    "need",
    "offer",
    "quantity",
    "distance_km",
    "score",
    "radius_km",
    "needs",
    "offers",
    "delivered",
    "discord",
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hxl")
    core, _ = lived_in(folder / "live.db")
    export_dir(core.store.database, folder / "out", include_contacts=True, gazetteer=core.gazetteer)
    core.store.close()
    return folder / "out"


def source(path: Path):
    return hxl.data(str(path), hxl.InputOptions(allow_local=True))


@pytest.mark.parametrize("name", FILES)
def test_libhxl_validates_every_exported_file(exported, name):
    report = hxl.validate(source(exported / f"{name}.csv"))

    assert report["is_valid"], report["issues"]
    assert report["stats"]["error"] == 0 and report["stats"]["warning"] == 0


@pytest.mark.parametrize("name", FILES)
def test_every_tag_is_an_hxl_hashtag_with_dictionary_or_documented_attributes(exported, name):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "interop.md").read_text(encoding="utf-8")
    for column in source(exported / f"{name}.csv").columns:
        assert column.tag.removeprefix("#") in HASHTAGS, column.display_tag
        for attribute in column.attributes:
            assert attribute in ATTRIBUTES | CUSTOM, f"{column.display_tag}: +{attribute}"
            assert attribute in ATTRIBUTES or f"+{attribute}" in docs, f"+{attribute} is not explained"
        assert f"`{column.display_tag}`" in docs, f"{column.display_tag} of {name}.csv is not in docs/interop.md"


def test_numbers_are_tagged_num_and_counts_of_goods_are_never_money(exported):
    for name in FILES:
        for column in source(exported / f"{name}.csv").columns:
            assert column.tag != "#value", f"{name}: {column.display_tag}"
            if column.tag in {"#need", "#capacity", "#output", "#indicator"} and "name" not in column.attributes:
                assert "num" in column.attributes, f"{name}: {column.display_tag}"


def test_the_3w_pivots_by_sector_with_libhxl(exported):
    pivot = source(exported / "3w.csv").count(
        "#sector+cluster+name",
        aggregators=["sum(#indicator+num+needs) as Open needs#indicator+num+needs",
                     "sum(#indicator+num+offers) as Open offers#indicator+num+offers"],
    )  # fmt: skip
    rows = list(pivot.gen_raw(show_headers=False))
    by_sector = {sector: (needs, offers) for sector, needs, offers in rows}

    assert by_sector["WASH (water, sanitation, hygiene)"] == (2, 1)
    assert by_sector["Emergency Shelter"] == (0, 1)
    assert by_sector["Food Security"] == (1, 0)


def test_the_3w_has_one_row_per_org_sector_and_place(exported):
    keys = [
        (row.get("#crisis+name"), row.get("#org+impl+name"), row.get("#sector"), row.get("#loc+code"))
        for row in source(exported / "3w.csv")
    ]
    assert len(keys) == len(set(keys))
    assert all(";" not in (sector or "") for _, _, sector, _ in keys), "one sector per row"
