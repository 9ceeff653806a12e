"""Cursor pagination: a page is the next ``limit`` rows after the cursor, in id order, so a
page costs the same at row 10 and at row 150,000 and nothing shifts under a reader. The
cursor is the id of the last row given (``next_cursor``), as in Stripe's ``starting_after``:
any number is a valid cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select

from portal.api.schemas import Answer
from portal.extensions import db


def page(
    query: Select, id_column: Any, *, cursor: int | None, limit: int
) -> tuple[Sequence[Any], int | None]:
    """One page of ``query`` (one statement) and the cursor of the next, if there is one."""
    rows = (
        db.session.scalars(
            query.where(id_column > (cursor or 0)).order_by(id_column).limit(limit + 1)
        )
        .unique()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def listing(rows: Sequence[Any], shape: type[Answer]) -> list[dict[str, Any]]:
    return [shape.answer(row) for row in rows]
