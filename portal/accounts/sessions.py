"""Sign-in sessions kept on the server (rule 15).

Each sign-in is a ``LoginSession`` row; the session cookie (and the "stay logged in" cookie,
which Flask-Login signs with the same id) names it by a random secret of which only the
SHA-256 is stored. Flask-Login's user loader (``load_person_for_session``) asks the row on every
request that is not served from the page cache, so ending the row ends the cookie at once,
wherever it was copied to. How long a row lives (idle and in all) follows the configuration and
is shorter for people with a role (partner admins, staff, admins).

A sign-in may be *held* for a further step (a sign-in link mailed to the owner while the account
is under attack, rule 16; a second factor): ``sign_in(..., hold=step)`` keeps the row from
signing anyone in until ``release_hold`` is called for that step. What a browser proved with
a second factor is kept in that browser's session, not here (``factors.state``, rule 17): a
"remember me" cookie names this row from browsers that proved nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from portal.accounts.models import LoginSession, Person, SessionEnd
from portal.accounts.queries import (
    person_with_roles_and_mous,
    settle_rare_collections,
    signed_in_person_and_session,
)
from portal.audit.services import record
from portal.db import BOOKKEEPING, utcnow
from portal.errors import InvalidInput, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import external_url, mail_person

#: last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)
#: The step of a sign-in held until the owner follows the link mailed to them (rule 16).
MAILED_LINK = "mailed_link"


@dataclass(frozen=True)
class SignInStep:
    """A step some people must pass after their password before a sign-in is complete (a
    second factor): ``needed(person)`` says who; ``endpoint`` is the page that passes it. That
    page finds the held session by the secret the sign-in page kept in the browser's session
    (``HELD_SIGN_IN``) with ``held_session(secret, name)``, and completes it with
    ``release_hold``."""

    name: str
    needed: Callable[[Person], bool]
    endpoint: str


#: The steps after the password, in order; areas add theirs with ``register_step``.
SIGN_IN_STEPS: list[SignInStep] = []
#: The key of the browser's session under which the sign-in page keeps a held sign-in's secret.
HELD_SIGN_IN = "held_sign_in"
#: ... and where the browser goes once the held sign-in is complete.
HELD_NEXT = "held_sign_in_next"


def register_step(step: SignInStep) -> None:
    if all(s.name != step.name for s in SIGN_IN_STEPS):
        SIGN_IN_STEPS.append(step)


def step_for(person: Person, *, after: str | None = None) -> SignInStep | None:
    """The first further step this person's sign-in must pass (after the step ``after``, when
    one was just passed), if any. The mailed link (rule 16) comes before every step."""
    names = [s.name for s in SIGN_IN_STEPS]
    remaining = SIGN_IN_STEPS[names.index(after) + 1 :] if after in names else SIGN_IN_STEPS
    return next((s for s in remaining if s.needed(person)), None)


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    total: timedelta


@dataclass(frozen=True)
class Opened:
    """A new session row, its person, and the secret the browser gets (never stored)."""

    person: Person
    record: LoginSession
    secret: str


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def network_of(address: str | None) -> str:
    """The first part of an address, enough to recognize a network and no more:
    ``203.0.113`` for IPv4 (a /24), the first three groups for IPv6 (a /48)."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if parsed.version == 4:
        return ".".join(str(parsed).split(".")[:3])
    return ":".join(parsed.exploded.split(":")[:3])


def is_privileged(person: Person) -> bool:
    """Partner admins, staff and admins: their sessions live shorter (rule 15)."""
    return bool(person.role_grants)


def lifetime(person: Person, *, remember: bool) -> Lifetime:
    """How long a session of this person may sit idle, and live in all, from configuration."""
    config = current_app.config
    if remember:
        found = Lifetime(
            timedelta(days=config["REMEMBER_IDLE_DAYS"]),
            timedelta(days=config["REMEMBER_MAX_DAYS"]),
        )
    else:
        found = Lifetime(
            timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            timedelta(hours=config["SESSION_MAX_HOURS"]),
        )
    if is_privileged(person):
        found = Lifetime(
            min(found.idle, timedelta(minutes=config["PRIVILEGED_SESSION_IDLE_MINUTES"])),
            min(found.total, timedelta(hours=config["PRIVILEGED_SESSION_MAX_HOURS"])),
        )
    return found


def ends_at(session: LoginSession, person: Person) -> datetime:
    """The moment this session stops signing anyone in if nothing else ends it first."""
    limits = lifetime(person, remember=session.remember)
    return min(session.created_at + limits.total, session.last_seen_at + limits.idle)


def _attach(person: Person, secret: str, session: LoginSession) -> None:
    person.login_session_key = secret
    person.login_session = session


def sign_in(
    person: Person,
    *,
    remember: bool,
    user_agent: str = "",
    address: str | None = None,
    hold: str | None = None,
) -> Opened:
    """Open a session for ``person`` who has just proved who they are.

    With ``hold`` (the name of a further step) the row signs nobody in until that step calls
    ``release_hold``; otherwise the person is signed in with this row (the view hands the
    person to Flask-Login). A sign-in of a partner admin, staff or admin is audited.
    """
    opened = _open(person, remember=remember, user_agent=user_agent, address=address, hold=hold)
    db.session.commit()
    return opened


def mail_sign_in_link(
    person: Person, *, remember: bool, user_agent: str = "", address: str | None = None
) -> None:
    """The account is under attack (rule 16) and its password was given: open a session held
    for ``MAILED_LINK`` and mail its owner the single-use link that releases it."""
    opened = _open(
        person, remember=remember, user_agent=user_agent, address=address, hold=MAILED_LINK
    )
    mail_person(
        person,
        "accounts/sign_in_link",
        link=external_url("accounts.sign_in_link", token=opened.secret),
        minutes=current_app.config["SIGN_IN_LINK_MINUTES"],
        network=opened.record.network,
    )
    db.session.commit()


def _open(
    person: Person,
    *,
    remember: bool,
    user_agent: str,
    address: str | None,
    hold: str | None,
) -> Opened:
    _forget_dead_sessions(person)
    secret = secrets.token_urlsafe(32)
    session = LoginSession(
        person_id=person.id,
        token_hash=token_hash(secret),
        remember=remember,
        held_for=hold,
        user_agent=(user_agent or "")[:400],
        network=network_of(address),
    )
    db.session.add(session)
    db.session.flush()
    if hold is None:
        _signed_in(person, session)
    _attach(person, secret, session)
    return Opened(person, session, secret)


#: How long an ended or lapsed session stays listed in the person's data before it is removed.
KEEP_DEAD_SESSIONS = timedelta(days=30)


def _forget_dead_sessions(person: Person) -> None:
    """Remove the person's sessions that ended (or could not live any more) a while ago, so
    rows do not pile up: on the transaction's connection, bypassing the ORM, since no page
    shows a dead session and no cached page need be dropped for it."""
    config = current_app.config
    longest = timedelta(days=config["REMEMBER_MAX_DAYS"]) + KEEP_DEAD_SESSIONS
    before = utcnow() - KEEP_DEAD_SESSIONS
    db.session.connection().execute(
        delete(LoginSession).where(
            LoginSession.person_id == person.id,
            or_(
                LoginSession.ended_at < before,
                LoginSession.created_at < utcnow() - longest,
                and_(LoginSession.held_for.is_not(None), LoginSession.created_at < before),
            ),
        )
    )


def _signed_in(person: Person, session: LoginSession) -> None:
    person.last_login_at = utcnow()
    if is_privileged(person):
        record(
            "session.sign_in",
            actor=person,
            subject_type="person",
            subject_id=person.id,
            session=session.id,
            network=session.network,
            remember=session.remember,
            roles=sorted(g.role for g in person.role_grants),
        )


def held_session(secret: str, step: str, *, within: timedelta | None = None) -> LoginSession:
    """The held session this secret names, still waiting for ``step`` (and younger than
    ``within``); InvalidInput otherwise (used, expired, or never issued)."""
    session = db.session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_hash(secret))
    )
    too_old = within is not None and session is not None and utcnow() - session.created_at > within
    if session is None or session.held_for != step or session.ended_at is not None or too_old:
        raise InvalidInput(
            _("This sign-in link was already used or is no longer valid. Log in again.")
        )
    return session


def release_hold(
    session: LoginSession,
    step: str,
    *,
    user_agent: str = "",
    address: str | None = None,
) -> Opened:
    """The step ``session`` was held for is passed, under a new secret (the one that named it
    while held, a link in a mail, stops working: single use). If the person must pass another
    step (``step_for``), the session is now held for that one (``record.held_for``) and the
    caller sends the browser there; otherwise it signs its person in. The browser that passed
    the step is the session's device from now on."""
    if session.held_for != step or session.ended_at is not None:
        raise InvalidInput(
            _("This sign-in link was already used or is no longer valid. Log in again.")
        )
    person = _person(session.person_id)
    following = step_for(person, after=step)
    secret = secrets.token_urlsafe(32)
    session.token_hash = token_hash(secret)
    session.held_for = following.name if following else None
    session.created_at = session.last_seen_at = utcnow()
    if user_agent:
        session.user_agent = user_agent[:400]
    if address:
        session.network = network_of(address)
    if following is None:
        _signed_in(person, session)
    db.session.commit()
    _attach(person, secret, session)
    return Opened(person, session, secret)


def _person(person_id: int) -> Person:
    person = person_with_roles_and_mous(person_id)
    if person is None or person.deleted_at:
        raise NotFound(_("Not found."))
    return person


def load_person_for_session(session_id: str) -> Person | None:
    """Flask-Login's loader: the person whose live, unheld, unexpired session the cookie
    names, or None (the cookie then signs nobody in). Marks the session seen at most once a
    minute, in the request's transaction but not through the ORM (the page cache is not
    disturbed by it).

    (Pages served from the page cache never get here: see ``portal.pagecache``.)"""
    person_id, _sep, secret = session_id.partition(":")
    if not person_id.isdigit() or not secret:
        return None
    found = (
        db.session.execute(signed_in_person_and_session(), {"token_hash": token_hash(secret)})
        .unique()
        .one_or_none()
    )
    if found is None:
        return None
    person, session, *rare = found
    if (
        session.person_id != int(person_id)
        or session.ended_at is not None
        or session.held_for is not None
    ):
        return None
    if person.deleted_at:
        return None
    settle_rare_collections(person, *rare)
    now = utcnow()
    if now >= ends_at(session, person):
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        _touch(session.id, now)
    _attach(person, secret, session)
    return person


def _touch(session_id: int, moment: datetime) -> None:
    # In the request's transaction, on its connection but not through the ORM: the session's
    # objects stay as they are and no page-cache generation is bumped for a time nobody's page
    # shows. Committed with the request's (as bookkeeping, even by a request that only read:
    # ``portal.db``); a request rolled back leaves it to the next. Its own transaction on a
    # second connection cost a fifth of a registration's CPU.
    db.session.connection().execute(
        update(LoginSession)
        .where(LoginSession.id == session_id)
        .values(last_seen_at=moment)
        .execution_options(**BOOKKEEPING)
    )


def current_session_of(person: Person) -> LoginSession | None:
    """The session row the signed-in ``person`` object was loaded for."""
    if person.login_session_key is None:
        return None
    if person.login_session is not None:
        return person.login_session
    return db.session.scalar(
        select(LoginSession).where(LoginSession.token_hash == token_hash(person.login_session_key))
    )


def live_sessions(person: Person) -> list[LoginSession]:
    """The person's sessions that still sign them in, most recently seen first."""
    now = utcnow()
    found = db.session.scalars(
        select(LoginSession)
        .where(
            LoginSession.person_id == person.id,
            LoginSession.ended_at.is_(None),
            LoginSession.held_for.is_(None),
        )
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    ).all()
    return [s for s in found if ends_at(s, person) > now]


def _end(sessions: list[LoginSession], reason: SessionEnd, actor: Person | None) -> int:
    moment = utcnow()
    for session in sessions:
        session.ended_at = moment
        session.end_reason = reason.value
        session.ended_by_id = actor.id if actor else None
    return len(sessions)


def end_all_sessions(
    person: Person,
    *,
    reason: SessionEnd,
    actor: Person | None,
    keep: LoginSession | None = None,
) -> int:
    """End every open session of ``person`` (held ones too), but ``keep``, in the caller's
    transaction; the number ended. Callers that audit their own change (a role removed, an
    account deleted) say how many in their entry; the others audit ``session.end_all``."""
    sessions = db.session.scalars(
        select(LoginSession).where(
            LoginSession.person_id == person.id, LoginSession.ended_at.is_(None)
        )
    ).all()
    return _end([s for s in sessions if keep is None or s.id != keep.id], reason, actor)


def log_out(person: Person) -> None:
    """The person logs out: this browser's session ends (their others stay)."""
    session = current_session_of(person)
    if session is not None and session.ended_at is None:
        _end([session], SessionEnd.LOGOUT, person)
        db.session.commit()


def end_session(person: Person, session_id: int) -> None:
    """The person ends one of their sessions from their sessions page (another device).
    NotFound for a session that is not theirs or no longer open (rule 4)."""
    session = db.session.get(LoginSession, session_id)
    if session is None or session.person_id != person.id or session.ended_at is not None:
        raise NotFound(_("Not found."))
    _end([session], SessionEnd.ENDED_BY_OWNER, person)
    record(
        "session.end",
        actor=person,
        subject_type="person",
        subject_id=person.id,
        session=session.id,
        reason_code=SessionEnd.ENDED_BY_OWNER.value,
    )
    db.session.commit()


def end_other_sessions(person: Person) -> int:
    """The person ends every session but the one they are using; how many ended."""
    ended = end_all_sessions(
        person, reason=SessionEnd.ENDED_BY_OWNER, actor=person, keep=current_session_of(person)
    )
    record(
        "session.end_all",
        actor=person,
        subject_type="person",
        subject_id=person.id,
        ended=ended,
        reason_code=SessionEnd.ENDED_BY_OWNER.value,
    )
    db.session.commit()
    return ended


def sign_out_person(person: Person, *, actor: Person, reason: str = "") -> int:
    """An admin signs ``person`` out everywhere (a lost laptop, a leaver): audited (rule 7).
    NotFound when the actor is not an admin."""
    if not actor.is_admin:
        raise NotFound(_("Not found."))
    ended = end_all_sessions(person, reason=SessionEnd.SIGNED_OUT_BY_ADMIN, actor=actor)
    record(
        "session.end_all",
        actor=actor,
        subject_type="person",
        subject_id=person.id,
        reason=reason,
        ended=ended,
        reason_code=SessionEnd.SIGNED_OUT_BY_ADMIN.value,
    )
    db.session.commit()
    return ended
