"""Interop: CSV files with HXL hashtags, out (``python run.py export``) and in (``python run.py import``)."""

from bot.interop.columns import spreadsheet_safe
from bot.interop.export import FILES, export_dir
from bot.interop.importer import ImportRejected, ImportSummary, import_dir, import_into
from bot.interop.reading import RowProblem, read_table

__all__ = [
    "FILES", "ImportRejected", "ImportSummary", "RowProblem", "export_dir", "import_dir", "import_into", "read_table",
    "spreadsheet_safe",
]  # fmt: skip
