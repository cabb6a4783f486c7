"""Coalesce: needs, offers and matches for disaster-response coalitions."""
