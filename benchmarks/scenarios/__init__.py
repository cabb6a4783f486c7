"""One module per benchmark scenario; each ``run(sizes)`` returns a flat dict of figures."""

from __future__ import annotations


class NotAvailable(Exception):
    """The code a scenario measures is not in this checkout (yet)."""
