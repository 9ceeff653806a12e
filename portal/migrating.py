"""Downgrades that would lose data refuse to, saying what and what to do instead.

Each revision's ``downgrade()`` first names what it would destroy, as counting queries
(``refuse_to_lose``). When any of it exists the step stops before changing anything, saying
what would be lost, unless the operator has said the data may go:
``portal db downgrade -x lose-data=yes <revision>``. A downgrade of an empty database (CI's
migration check) finds nothing and goes ahead. What the older schema cannot hold at all
(``refuse_unless_none``) refuses even then.

The revisions in ``migrations/versions`` are history and call this from inside
``downgrade()`` (so they stay importable without the portal): change it only in ways that
keep what they mean.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

log = logging.getLogger(__name__)

#: The ``-x`` argument that lets a downgrade discard what it finds.
LOSE_DATA = "lose-data"


def rows_in(*tables: str) -> dict[str, str]:
    """Counting queries for every row of tables a downgrade drops."""
    return {f"rows in {table}": f"SELECT count(*) FROM {table}" for table in tables}  # noqa: S608


def _found(queries: dict[str, str]) -> list[str]:
    if context.is_offline_mode():
        # A script for someone to run by hand: tell them what to look at first.
        op.execute("-- check first that none of these exist: " + "; ".join(queries))
        return []
    bind = op.get_bind()
    counts = {what: bind.execute(sa.text(query)).scalar() or 0 for what, query in queries.items()}
    return [f"{what}: {count}" for what, count in counts.items() if count]


def _refusal(*sentences: str) -> CommandError:
    # Raised before the step changed anything; `portal db downgrade` prints it on one line.
    # PostgreSQL undoes the steps before it too (one transaction); SQLite keeps them.
    ending = "Nothing was changed by this step; 'portal db current' says where the database is."
    return CommandError(" ".join(s for s in (*sentences, ending) if s))


def refuse_to_lose(revision: str, would_lose: dict[str, str], *, instead: str = "") -> None:
    """Stop the downgrade of ``revision`` if any query in ``would_lose`` (description →
    ``SELECT count(*) …`` of what the step destroys) counts something, unless
    ``-x lose-data=yes``. ``instead``: how to downgrade without losing it, if there is a way.
    """
    losing = _found(would_lose)
    if not losing:
        return
    if context.get_x_argument(as_dictionary=True).get(LOSE_DATA) == "yes":
        log.warning("Downgrading %s loses %s (-x %s=yes)", revision, ", ".join(losing), LOSE_DATA)
        return
    raise _refusal(
        f"Downgrading {revision} would lose data: {', '.join(losing)}.",
        instead,
        f"To downgrade anyway and lose it: portal db downgrade -x {LOSE_DATA}=yes <revision>.",
    )


def refuse_unless_none(revision: str, what: str, query: str, *, instead: str) -> None:
    """Stop the downgrade of ``revision`` if ``query`` counts any ``what``, which the older
    schema cannot hold at all (``-x lose-data=yes`` does not help)."""
    impossible = _found({what: query})
    if impossible:
        raise _refusal(
            f"Cannot downgrade {revision}: the older schema cannot hold these ({impossible[0]}).",
            instead,
        )
