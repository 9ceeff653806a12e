"""Cursor pagination: a page is the next ``limit`` rows after the cursor's id, in id order, so
a page costs the same at row 10 and at row 150,000 and nothing shifts under a reader."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask_babel import gettext as _
from sqlalchemy import Select

from portal.errors import InvalidInput
from portal.extensions import db
from portal.inputs import MAX_INTEGER

Row = TypeVar("Row")


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _sep, number = text.partition(":")
        value = int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = -1
        prefix = ""
    if prefix != "after" or not 0 <= value <= MAX_INTEGER:
        raise InvalidInput(_("This cursor is not one the API gave."), field="cursor")
    return value


def page(
    query: Select, id_column: Any, *, cursor: str | None, limit: int
) -> tuple[Sequence[Any], str | None]:
    """One page of ``query`` (one statement) and the cursor of the next, if there is one."""
    after = decode(cursor)
    rows = (
        db.session.scalars(query.where(id_column > after).order_by(id_column).limit(limit + 1))
        .unique()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode(rows[-1].id) if more and rows else None)


def listing(rows: Sequence[Row], convert: Callable[[Row], Any]) -> list[Any]:
    return [convert(row).model_dump(mode="json") for row in rows]
