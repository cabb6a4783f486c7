"""One hierarchy of errors. The core raises them; cogs only phrase them.

A :class:`UserError` carries a message that is safe to show the person who
typed the command: it names what was wrong and what to do instead.
"""

from __future__ import annotations


class CoalesceError(Exception):
    """Base of every error the core raises on purpose."""


class UserError(CoalesceError):
    """Something the person can fix; ``message`` is shown to them, ephemerally.

    ``code`` names the kind of refusal in logs, where the message (which may
    quote what was typed) never goes.
    """

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(UserError):
    """An option's value is malformed, out of range or unsafe."""

    code = "invalid_input"


class NotFound(UserError):
    """The named org, event, post or match does not exist in this coalition."""

    code = "not_found"


class Forbidden(UserError):
    """The person may not do this (not an org member, not an admin ...)."""

    code = "forbidden"


class Conflict(UserError):
    """The request clashes with the current state (duplicate name, closed post ...)."""

    code = "conflict"


class RateLimited(UserError):
    """Too many posts in a short time from one member."""

    code = "rate_limited"


class UnknownPlace(InvalidInput):
    """The gazetteer has no such place."""

    code = "unknown_place"


class UnknownSector(InvalidInput):
    """Not one of the eleven IASC sectors."""

    code = "unknown_sector"


class SettingsError(CoalesceError):
    """A setting is missing or malformed; the message is one line for the operator."""
