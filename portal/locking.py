"""Row locks for limited resources (seats, per-member limits, code pools).

Call ``lock_rows`` inside the transaction that will insert, before counting what is left:
the lock is held until that transaction commits or rolls back, so two requests can never
both take the last unit (ASVS 2.3.3; rule 1). Rows are locked in id order, so two
requests locking the same rows never deadlock.

PostgreSQL: ``SELECT … FOR UPDATE``. Every connection the portal opens carries a lock
timeout (``connect_options``), after which the caller is told to try again: set once per
connection rather than per transaction, where it would cost a round trip on every
registration. SQLite has no row locks, and pysqlite opens a transaction only at the first write
(earlier SELECTs run outside it): a no-op ``UPDATE`` of the rows opens the transaction and
takes the database's single write lock, so every read after it sees the latest commits and
no other writer can commit until this transaction ends. Callers lock first, then count.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.exc import OperationalError

from portal.errors import DomainError
from portal.extensions import db
from portal.language import gettext as _


class Busy(DomainError):
    """Too many people at once; nothing was changed and the person may simply retry."""

    def __init__(self) -> None:
        super().__init__(_("Many people are doing this at the same moment. Please try again."))


def connect_options(database_uri: str, lock_timeout_seconds: float) -> dict[str, str]:
    """Driver arguments for the portal's PostgreSQL connections: waits for a lock are bounded.

    Bounded for every statement, not only the locks taken here: a web worker held for
    seconds behind a lock (a migration's, a bulk change's) is worse than a clear refusal."""
    if not database_uri.startswith("postgresql"):
        return {}
    return {"options": f"-c lock_timeout={round(lock_timeout_seconds * 1000)}"}


@functools.cache
def _select_for_update(table: Table, several: bool) -> Select:
    # Built once per table: locking runs on every registration and claim. One row (an
    # event's, on every registration) by ``id = $1``: PostgreSQL keeps one plan for it. An
    # array of ids (``= ANY($1)``) was planned afresh on every run, its generic plan priced
    # for more rows than the one it is given; several rows keep the expanding IN list.
    if several:
        condition = table.c.id.in_(bindparam("ids", expanding=True))
    else:
        condition = table.c.id == bindparam("id")
    return select(table.c.id).where(condition).order_by(table.c.id).with_for_update()


def lock_rows(table: Table, ids: Iterable[int]) -> None:
    """Lock the rows of ``table`` with these ids until the current transaction ends."""
    wanted = sorted(set(ids))
    if not wanted:
        return
    session = db.session
    # On the session's connection, not as an ORM statement: a lock changes no row, so nothing
    # that watches the session's writes has anything to learn from it (and a registration,
    # which takes one, is spared the ORM's handling of a statement).
    connection = session.connection()
    try:
        if connection.dialect.name == "postgresql":
            # The transaction's changes first, as the ORM statement's autoflush did: a lock
            # they wait for is a Busy too.
            session.flush()
            several = len(wanted) > 1
            connection.execute(
                _select_for_update(table, several),
                {"ids": wanted} if several else {"id": wanted[0]},
            )
        else:
            connection.execute(update(table).where(table.c.id.in_(wanted)).values(id=table.c.id))
    except OperationalError as error:
        session.rollback()
        if "lock" in str(error).lower() or "busy" in str(error).lower():
            raise Busy() from None
        raise
