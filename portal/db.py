"""The declarative base every model shares, and database-wide conventions."""

from __future__ import annotations

import contextlib
import enum
import select
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, overload

import psycopg
from psycopg import Column
from psycopg.pq import ExecStatus
from sqlalchemy import DateTime, MetaData, TypeDecorator, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

# Stable constraint names, so Alembic can find and alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Errors meaning the database cannot be used right now (down, restarting, unreachable, its
#: connection killed, no connection free in the pool), not that a statement was wrong:
#: "try again later" is the right answer to them.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def one_of(column: str, values: Iterable[enum.StrEnum]) -> str:
    """A CHECK constraint's condition: ``column`` holds one of ``values`` (an enum, or some of
    its members), so the database refuses what the model's enum does not name."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: object, connection_record: object) -> None:
    # SQLite enforces foreign keys only when asked, per connection; WAL lets readers run
    # beside the single writer, and busy_timeout makes writers queue instead of failing.
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# --- a request that only read ends with COMMIT ------------------------------------------------
#
# psycopg forgets every prepared statement of a connection when a transaction on it is rolled
# back, and a request's transaction was always rolled back when the request ended. So no
# statement was ever executed often enough on one connection to be prepared, and PostgreSQL
# planned each anew: the signed-in person's statement (nine tables joined) took 2.5–3.5 ms
# each time, 0.7 ms once prepared with its plan kept. A transaction that only read is ended
# with COMMIT instead, which means the same to the database and keeps the statements prepared.
# Anything else (a statement other than SELECT, pending changes, an exception) is still
# rolled back; so is a read that starts with WITH (a rare report's), which could hide a write.

#: On a connection's ``info``: a statement other than a read ran in its transaction.
_WROTE = "portal_wrote"
#: An execution option marking a write that is the request's bookkeeping (a session record
#: marked seen), which a transaction that otherwise only read still commits.
BOOKKEEPING = {"portal_bookkeeping": True}
#: On a session's ``info``: the connection its transaction began on.
_CONNECTION = "portal_connection"


@event.listens_for(Engine, "begin")
def _transaction_begins(connection: object) -> None:
    connection.info.pop(_WROTE, None)  # type: ignore[attr-defined]


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(
    connection: object,
    cursor: object,
    statement: str,
    parameters: object,
    context: object,
    executemany: bool,
) -> None:
    if executemany or statement.lstrip()[:6].upper() != "SELECT":
        options = getattr(context, "execution_options", None) or {}
        if not options.get("portal_bookkeeping"):
            connection.info[_WROTE] = True  # type: ignore[attr-defined]


@event.listens_for(Session, "after_begin")
def _remember_connection(session: Session, transaction: object, connection: object) -> None:
    session.info[_CONNECTION] = connection


def end_read_only_transaction(session: Session) -> None:
    """Commit ``session``'s transaction if all it did was read (see above); otherwise leave
    it to be rolled back as the session closes. A commit the database fails (it went away
    after the page was answered) is left to that too: the request has its answer, and an
    error here would only be logged as a crash. A session whose connection never opened
    (the database is down) is left alone."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    connection = session.info.get(_CONNECTION)
    if connection is None or connection.closed or connection.info.get(_WROTE):
        return
    with contextlib.suppress(*DATABASE_UNAVAILABLE):
        session.commit()


def commit_keeping_what_is_loaded(session: Session) -> None:
    """Commit ``session`` without expiring the objects it holds, for a request that answers
    (a redirect) right after its commit. Expiring is how a session reads again what another
    transaction may have changed since; here nothing is read again, and expiring the dozens of
    objects a signed-in request holds (the person's graph, the event's) cost a registration a
    fifth of its commit."""
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


# --- cursors ---------------------------------------------------------------------------------


class _DescribedResult:
    """What psycopg's ``Column`` reads from its cursor, as it stood when ``description`` was
    asked for: by the time a column is read the cursor may hold another statement's result."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.pgresult = cursor.pgresult
        self.adapters = cursor.adapters
        self._encoding = cursor._encoding  # noqa: SLF001 - what Column decodes the names with


class DescriptionOnDemand(Sequence[Column]):
    """A result's ``cursor.description``, each ``Column`` built when something first reads it.

    SQLAlchemy asks every statement's cursor for its description; for a statement compiled
    before (all but the first run of each) it only looks whether there is one, the result's
    shape being kept with the compiled form. psycopg builds every column on each ask: about 90
    of them in a signed-in registration, a sixteenth of the worker's instructions for it."""

    __slots__ = ("_built", "_count", "_described")

    def __init__(self, described: _DescribedResult, count: int) -> None:
        self._described, self._count = described, count
        self._built: list[Column] | None = None

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Column: ...
    @overload
    def __getitem__(self, index: slice) -> list[Column]: ...
    def __getitem__(self, index: int | slice) -> Column | list[Column]:
        if self._built is None:
            described: Any = self._described  # read as Column reads its cursor
            self._built = [Column(described, i) for i in range(self._count)]
        return self._built[index]

    def __repr__(self) -> str:
        return repr(list(self))


_RETURNS_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class PostgresCursor(psycopg.Cursor[Any]):
    """psycopg's cursor, describing its results on demand (``DescriptionOnDemand``); given to
    every PostgreSQL connection the portal opens (``connect_args``)."""

    @property
    def description(self) -> DescriptionOnDemand | None:  # type: ignore[override]
        # When psycopg's own description is a list, this is the same list, built later.
        result = self.pgresult
        if result is not None and (result.nfields or result.status in _RETURNS_ROWS):
            return DescriptionOnDemand(_DescribedResult(self), result.nfields)
        return None


# --- connections the database closed ---------------------------------------------------------


def check_connections_by_their_socket(engine: Engine) -> None:
    """Before a pooled PostgreSQL connection is lent to a request, look at its socket instead of
    asking the database (``pool_pre_ping``'s ``SELECT 1``, a round trip on every request).

    An idle connection has nothing to read: when the database restarts, or ends the session
    (``pg_terminate_backend``, ``idle_session_timeout``), it sends its reason and closes, and
    the socket turns readable. Such a connection is refused at checkout and the pool opens
    another, so the request never sees it. A connection cut without a word (a network gone)
    is not seen here; its first statement fails, the pool is emptied, and that one request is
    answered 503 as any outage is."""
    event.listen(engine, "checkout", _refuse_closed_connection)


def _refuse_closed_connection(dbapi_connection: Any, record: object, proxy: object) -> None:
    if connection_was_closed(dbapi_connection):
        raise exc.DisconnectionError("the database closed this connection")


def connection_was_closed(connection: Any) -> bool:
    """True if this idle psycopg connection is closed, broken, or has something to read."""
    if connection.closed or connection.broken:
        return True
    try:
        watcher = select.poll()
        watcher.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(watcher.poll(0))
    except (OSError, ValueError):
        return True
