"""Domain errors: raised by services, with a message fit to show the person who acted."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the portal refused an action. ``message`` is already translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The record does not exist, or the actor may not know that it does (rule 4)."""


class InvalidInput(DomainError):
    """The input breaks a rule; nothing was changed (rule 10).

    ``field`` names the form field at fault, when there is one, so a page can show the
    message beside it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidTransition(DomainError):
    """The record is not in a state that allows this action."""
