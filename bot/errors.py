"""One hierarchy of errors. The core raises them; cogs only phrase them.

A :class:`UserError` carries a message that is safe to show the person who
typed the command: it names what was wrong and what to do instead.
"""

from __future__ import annotations


class CoalesceError(Exception):
    """Base of every error the core raises on purpose."""


class UserError(CoalesceError):
    """Something the person can fix; ``message`` is shown to them, ephemerally."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(UserError):
    """An option's value is malformed, out of range or unsafe."""


class NotFound(UserError):
    """The named org, event, post or match does not exist in this coalition."""


class Forbidden(UserError):
    """The person may not do this (not an org member, not an admin ...)."""


class Conflict(UserError):
    """The request clashes with the current state (duplicate name, closed post ...)."""


class RateLimited(UserError):
    """Too many posts in a short time from one member."""


class UnknownPlace(InvalidInput):
    """The gazetteer has no such place."""


class UnknownSector(InvalidInput):
    """Not one of the eleven IASC sectors."""


class SettingsError(CoalesceError):
    """A setting is missing or malformed; the message is one line for the operator."""
