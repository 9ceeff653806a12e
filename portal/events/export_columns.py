"""Columns the areas built on events add to an event's registrations CSV.

Events may not import payments. The payments area registers here the columns it knows (how a
registration was paid, its invoice number); each gives its headers and, in one statement for
every registration exported, their values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from portal.events.models import Registration


@dataclass(frozen=True)
class ExportColumns:
    #: The column headers, in the viewer's language.
    headers: Callable[[], list[str]]
    #: Registration id → one value per header, for all the registrations at once.
    values: Callable[[Sequence[Registration]], Mapping[int, list[str]]]


_COLUMNS: dict[str, ExportColumns] = {}


def register(name: str, columns: ExportColumns) -> None:
    """Add an area's columns (again: an app built twice replaces them)."""
    _COLUMNS[name] = columns


def registered() -> list[ExportColumns]:
    return [_COLUMNS[name] for name in sorted(_COLUMNS)]
