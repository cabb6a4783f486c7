"""Reading a CSV file for import: strict UTF-8, bounded sizes, the HXL hashtag row found, columns matched by tag.

A column is found by HXL hashtag and attributes the way HXL tools match them:
the pattern ``#org+name`` finds ``#org +impl +name`` (attributes in any order,
any spacing, extra attributes allowed), and ``-code`` excludes a column with
that attribute. Without a hashtag row, the header names ours. Every problem is
a :class:`RowProblem` naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from bot.errors import InvalidInput
from bot.interop.columns import unsafe_undone

MAX_FILE_BYTES = 50_000_000
MAX_CELL = 5_000
HASHTAG_ROW_WITHIN = 25
_TAG = re.compile(r"#([a-z][a-z0-9_]*)((?:\s*[+-]\s*[a-z][a-z0-9_]*)*)\s*$")


class RowProblem(InvalidInput):
    """One line naming where a file is wrong: ``needs.csv row 7, column quantity: ...``."""

    def __init__(self, file: str, row: int | None, column: str | None, message: str) -> None:
        where = file + (f" row {row}" if row is not None else "") + (f", column {column}" if column else "")
        super().__init__(_one_printable_line(f"{where}: {message}"))
        self.file, self.row, self.column = file, row, column


def _one_printable_line(text: str) -> str:
    """A problem quotes the cell it is about: never let that cell break the line or drive a terminal."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


@dataclass(frozen=True, slots=True)
class Tag:
    hashtag: str
    include: frozenset[str]
    exclude: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Tag | None:
        found = _TAG.match(text.strip().casefold())
        if found is None:
            return None
        include, exclude = set(), set()
        for sign, name in re.findall(r"([+-])\s*([a-z][a-z0-9_]*)", found.group(2)):
            (include if sign == "+" else exclude).add(name)
        return cls(found.group(1), frozenset(include), frozenset(exclude))

    def finds(self, column: Tag) -> bool:
        return column.hashtag == self.hashtag and self.include <= column.include and not self.exclude & column.include


@dataclass(frozen=True, slots=True)
class Field:
    """One of our fields: the tags that may carry it, best first, and header names that may name it."""

    name: str
    tags: tuple[str, ...]
    headers: tuple[str, ...] = ()


@dataclass
class Table:
    """A CSV file read for import: each row as {field: text}, with its row number in the file."""

    name: str
    rows: list[tuple[int, dict[str, str]]]
    found: frozenset[str]

    def problem(self, row: int | None, column: str | None, message: str) -> RowProblem:
        return RowProblem(self.name, row, column, message)


def read_table(path: Path, fields: list[Field]) -> Table:
    """The file's rows keyed by field; raises :class:`RowProblem` when the file itself cannot be read."""
    name = path.name
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RowProblem(name, None, None, f"the file is {size:,} bytes; split it below {MAX_FILE_BYTES:,}.")
    raw = path.read_bytes()
    # surrogateescape keeps undecodable bytes in place, so the row and column that hold them can be named.
    text = raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    csv.field_size_limit(max(MAX_FILE_BYTES, csv.field_size_limit()))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines: list[list[str]] = []
    try:
        for cells in reader:
            lines.append(cells)
    except csv.Error as exc:
        raise RowProblem(name, reader.line_num, None, f"not valid CSV ({exc}).") from None
    header_at, tag_at = _header_rows(lines)
    header = [h.strip().casefold() for h in lines[header_at]] if header_at is not None else []
    tags = [Tag.parse(t) for t in lines[tag_at]] if tag_at is not None else []
    positions = _positions(fields, header, tags)
    labels = {i: _label(header, tags, i) for i in range(max(len(header), len(tags), 1))}
    rows: list[tuple[int, dict[str, str]]] = []
    start = (tag_at if tag_at is not None else header_at if header_at is not None else -1) + 1
    for number, cells in enumerate(lines[start:], start=start + 1):
        if not any(cell.strip() for cell in cells):
            continue
        for i, cell in enumerate(cells):
            column = labels.get(i) or f"{i + 1}"
            if any("\udc80" <= c <= "\udcff" for c in cell):
                raise RowProblem(name, number, column, "not UTF-8 text; save the file as CSV UTF-8.")
            if len(cell) > MAX_CELL:
                raise RowProblem(
                    name, number, column, f"the cell is {len(cell):,} characters; keep it to {MAX_CELL:,}."
                )
        rows.append(
            (number, {f: unsafe_undone(cells[i]).strip() if i < len(cells) else "" for f, i in positions.items()})
        )
    return Table(name, rows, frozenset(positions))


def _header_rows(lines: list[list[str]]) -> tuple[int | None, int | None]:
    """(header row, hashtag row) indexes: the hashtag row is the first of the first 25 rows that is all tags."""
    for i, cells in enumerate(lines[:HASHTAG_ROW_WITHIN]):
        filled = [c for c in cells if c.strip()]
        if filled and all(c.strip().startswith("#") for c in filled) and any(Tag.parse(c) for c in filled):
            return (i - 1 if i > 0 else None), i
    return (0 if lines else None), None


def _positions(fields: list[Field], header: list[str], tags: list[Tag | None]) -> dict[str, int]:
    """Which column holds each field: exact tags first, then the closest tag with extra attributes, then headers."""
    taken: set[int] = set()
    found: dict[str, int] = {}
    for exact in (True, False):
        for field in fields:
            if field.name in found:
                continue
            for pattern_text in field.tags:
                pattern = Tag.parse(pattern_text)
                assert pattern is not None  # noqa: S101 - our own patterns
                candidates = [
                    (len(t.include - pattern.include), i)
                    for i, t in enumerate(tags)
                    if t is not None and i not in taken and pattern.finds(t)
                    and (not exact or t.include == pattern.include)
                ]  # fmt: skip
                if candidates:
                    found[field.name] = min(candidates)[1]
                    taken.add(found[field.name])
                    break
    for field in fields:
        if field.name not in found:
            for name in (field.name, *field.headers):
                if name in header and header.index(name) not in taken:
                    found[field.name] = header.index(name)
                    taken.add(found[field.name])
                    break
    return found


def _label(header: list[str], tags: list[Tag | None], i: int) -> str:
    if i < len(header) and header[i]:
        return header[i][:40]
    tag = tags[i] if i < len(tags) else None
    if tag is not None:
        return "#" + tag.hashtag + "".join(f"+{a}" for a in sorted(tag.include))
    return str(i + 1)


_WHOLE = re.compile(r"[0-9]{1,18}")


def whole_number(text: str, table: Table, row: int, column: str, *, low: int, high: int, what: str) -> int:
    """A whole number written in ASCII digits within [low, high] (superscripts and "1e3" are refused)."""
    cleaned = text.replace(",", "").replace("_", "").strip() if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+", text) else text
    if not _WHOLE.fullmatch(cleaned):
        raise table.problem(row, column, f"{what} must be a whole number from {low:,} to {high:,}, not “{text[:20]}”.")
    value = int(cleaned)
    if not low <= value <= high:
        raise table.problem(row, column, f"{what} must be from {low:,} to {high:,}, not {value:,}.")
    return value


def ref_number(text: str, prefix: str, table: Table, row: int, column: str) -> int:
    """``"N-12"`` or ``"12"`` -> 12, with the prefix checked; ids are 1 to 2^53 (exact in every spreadsheet)."""
    cleaned = text.strip()
    if cleaned[:1].isalpha():
        if not prefix or cleaned[0].upper() != prefix:
            shape = f"they start {prefix}-" if prefix else "they are numbers"
            raise table.problem(row, column, f"“{cleaned[:20]}” is not an id of this file ({shape}).")
        cleaned = cleaned[1:].removeprefix("-")
    return whole_number(cleaned, table, row, column, low=1, high=2**53, what="The id")
