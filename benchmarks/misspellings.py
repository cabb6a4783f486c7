"""``python -m benchmarks.misspellings [--sweep]``: how well typed items and places resolve.

Reads ``tests/data/misspellings.csv`` (typed text, kind, sector chosen, expected
item key, place label, or ``custom`` for an item the catalogue does not have)
and reports top-1 accuracy and wrong answers. ``--sweep`` repeats it over a
range of similarity thresholds: that is how the thresholds in ``bot/taxonomy.py``
and ``bot/geo.py`` were chosen (docs/input.md).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot import geo, taxonomy
from bot.errors import UserError
from bot.geo import Gazetteer, default_gazetteer
from bot.taxonomy import Taxonomy, default_taxonomy

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "misspellings.csv"


@dataclass(frozen=True, slots=True)
class Row:
    typed: str
    kind: str
    sector: str
    expected: str


@dataclass
class Score:
    """Top-1 results; ``cross_sector`` counts items resolved into a sector other than the expected one."""

    right: int = 0
    total: int = 0
    wrong: list[str] = field(default_factory=list)
    cross_sector: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 0.0


def corpus(path: Path = CORPUS) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as file:
        return [Row(r["typed"], r["kind"], r["sector"], r["expected"]) for r in csv.DictReader(file)]


def measure(rows: list[Row], items: Taxonomy, places: Gazetteer) -> dict[str, Score]:
    """Score items and places separately (and both together under ``all``)."""
    scores = {"item": Score(), "place": Score(), "all": Score()}
    for row in rows:
        got, cross = _resolve(row, items, places)
        for name in (row.kind, "all"):
            score = scores[name]
            score.total += 1
            if got == row.expected:
                score.right += 1
            else:
                score.wrong.append(f"{row.typed!r} -> {got} (expected {row.expected})")
            if cross:
                score.cross_sector.append(f"{row.typed!r} -> {got} (expected {row.expected})")
    return scores


def _resolve(row: Row, items: Taxonomy, places: Gazetteer) -> tuple[str, bool]:
    if row.kind == "place":
        try:
            return places.resolve(row.typed).label, False
        except UserError:
            return "custom", False
    ref = items.resolve_item(row.typed, row.sector or None)
    got = ref.key if ref.known else "custom"
    expected = items.get(row.expected)
    wanted_sector = expected.sector if expected is not None else row.sector
    return got, ref.known and got != row.expected and ref.sector != wanted_sector


@contextmanager
def thresholds(item: float, other_sector: float, place: float) -> Iterator[None]:
    """Run with other similarity thresholds (the modules read them at call time)."""
    saved = taxonomy.TYPO_SIMILARITY, taxonomy.OTHER_SECTOR_SIMILARITY, geo.PLACE_TYPO_SIMILARITY
    taxonomy.TYPO_SIMILARITY, taxonomy.OTHER_SECTOR_SIMILARITY, geo.PLACE_TYPO_SIMILARITY = item, other_sector, place
    try:
        yield
    finally:
        taxonomy.TYPO_SIMILARITY, taxonomy.OTHER_SECTOR_SIMILARITY, geo.PLACE_TYPO_SIMILARITY = saved


def _line(label: str, scores: dict[str, Score]) -> str:
    parts = [
        f"{name} {s.accuracy:.1%} ({s.right}/{s.total}, cross-sector {len(s.cross_sector)})"
        for name, s in scores.items()
    ]
    return f"{label}: " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", action="store_true", help="try a range of thresholds")
    args = parser.parse_args()
    rows, items, places = corpus(), default_taxonomy(), default_gazetteer()
    if args.sweep:
        for value in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
            with thresholds(value, max(value, taxonomy.OTHER_SECTOR_SIMILARITY), value):
                print(_line(f"threshold {value:.2f}", measure(rows, items, places)))
    scores = measure(rows, items, places)
    print(_line("as shipped", scores))
    for line in scores["all"].wrong:
        print("  wrong:", line)


if __name__ == "__main__":
    main()
