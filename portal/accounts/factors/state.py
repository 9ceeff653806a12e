"""What this browser session proved about a second factor, kept in the Flask session.

Two facts live here: which person passed their password and still owes a second factor
(the sign-in's first step does not sign in), and when the signed-in person last used a
factor. Both name the person, so a session that changes hands (logout, another sign-in on
the same browser) never carries one person's proof to another. Only the functions below
read or write these keys.

The proof stays here rather than on the session record (``LoginSession``): a "remember me"
cookie, copied or restored in a browser that was closed, names the same record without this
browser session, and must prove the factor again before the management pages (rule 17).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from portal.accounts.factors.enrolled import has_factor
from portal.accounts.models import LoginSession
from portal.accounts.sessions import HELD_SIGN_IN, SignInStep, held_session
from portal.errors import InvalidInput
from portal.inputs import safe_next

FACTOR_KEY = "factor_at"
PENDING_KEY = "factor_pending"
#: How long after the password the second factor may come.
PENDING_SECONDS = 5 * 60

# --- the factor used in this session ---------------------------------------------------------


def _current_session_id() -> int | None:
    record = getattr(current_user, "login_session", None)
    return record.id if record is not None else None


def factor_verified_at() -> datetime | None:
    """When the signed-in person last used a second factor in this sign-in session, if they
    did. The proof names the session record: a new sign-in (even the same person's, on the
    same browser) starts without one."""
    proof = session.get(FACTOR_KEY)
    if not current_user.is_authenticated or not isinstance(proof, dict):
        return None
    if proof.get("person") != current_user.id or proof.get("session") != _current_session_id():
        return None
    return datetime.fromtimestamp(float(proof.get("at", 0)), UTC)


def note_factor_verified(person_id: int | None = None, session_id: int | None = None) -> None:
    """The signed-in person (or the one about to be, in session ``session_id``) used a second
    factor just now."""
    session[FACTOR_KEY] = {
        "person": person_id if person_id is not None else current_user.id,
        "session": session_id if session_id is not None else _current_session_id(),
        "at": time.time(),
    }


def forget_factor() -> None:
    session.pop(FACTOR_KEY, None)


# --- the sign-in between password and second factor -------------------------------------------

#: The name of the sign-in step a person with a factor must pass after their password: the
#: sign-in opens a session record held for it (``accounts.sessions``), and the second-step
#: page releases the hold.
SECOND_FACTOR_STEP = "second_factor"
#: How long after the password the second factor may come.
PENDING = timedelta(seconds=PENDING_SECONDS)


def sign_in_step() -> SignInStep:
    """The step the app factory registers with the sessions' sign-in (rule 17)."""
    return SignInStep(
        name=SECOND_FACTOR_STEP,
        needed=lambda person: has_factor(person.id),
        endpoint="factors.second_step",
    )


def held_sign_in() -> LoginSession | None:
    """The sign-in of this browser waiting for its second factor, unless it has expired."""
    secret = session.get(HELD_SIGN_IN)
    if not isinstance(secret, str):
        return None
    try:
        return held_session(secret, SECOND_FACTOR_STEP, within=PENDING)
    except InvalidInput:
        return None


# --- step-up ----------------------------------------------------------------------------------


def _return_path() -> str:
    # A page comes back to itself; a one-button action (POST) to the page that had the
    # button, when the browser says which page of this site that was.
    if request.method == "GET":
        return request.full_path.rstrip("?") if request.query_string else request.path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        back = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
        if back:
            return back
    return "/"


def require_recent_factor(max_age: timedelta | None = None) -> None:
    """Sensitive actions call this first (rule 17): a person with a second factor who last
    used it longer than ``max_age`` ago (``TWO_FACTOR_STEP_UP_MINUTES``) is sent to confirm
    it, and comes back to the page they were on; nothing of the action is done meanwhile.

    A person with no factor has nothing to confirm: whether they may be here at all is the
    management pages' gate's decision (``requirement``).
    """
    if max_age is None:
        max_age = timedelta(minutes=current_app.config["TWO_FACTOR_STEP_UP_MINUTES"])
    used = factor_verified_at()
    if used is not None and datetime.now(UTC) - used <= max_age:
        return
    if used is None and not has_factor(current_user.id):
        return
    abort(redirect(url_for("factors.confirm", next=_return_path())))
