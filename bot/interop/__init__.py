"""Interop: CSV files with HXL hashtags, out (``python run.py export``) and in (``python run.py import``)."""

from bot.interop.columns import spreadsheet_safe
from bot.interop.export import FILES, export_dir
from bot.interop.importer import ImportRejected, import_dir, import_into, read_table

__all__ = ["FILES", "ImportRejected", "export_dir", "import_dir", "import_into", "read_table", "spreadsheet_safe"]
