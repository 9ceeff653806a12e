"""What this browser session proved about a second factor, kept in the Flask session.

Two facts live here: which person passed their password and still owes a second factor
(the sign-in's first step does not sign in), and when the signed-in person last used a
factor. Both name the person, so a session that changes hands (logout, another sign-in on
the same browser) never carries one person's proof to another. Only the functions below
read or write these keys: a server-side session record can take them over unchanged.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.accounts.factors.enrolled import has_factor

FACTOR_KEY = "factor_at"
PENDING_KEY = "factor_pending"
#: How long after the password the second factor may come.
PENDING_SECONDS = 5 * 60

#: A local path: one slash, then no slash or backslash; no scheme, host, spaces or controls.
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, checked again after decoding; else None.

    Redirect targets of this package (the sign-in's ``next``, step-up's return) go through
    here: ``/%09/evil.example`` or ``/\\evil.example`` must never leave the site.
    """
    if not target or len(target) > 2000:
        return None
    decoded = unquote(target)
    for text in (target, decoded):
        if not _LOCAL_PATH.fullmatch(text) or any(ord(c) < 32 or ord(c) == 127 for c in text):
            return None
    return target


# --- the factor used in this session ---------------------------------------------------------


def factor_verified_at() -> datetime | None:
    """When the signed-in person last used a second factor in this session, if they did."""
    proof = session.get(FACTOR_KEY)
    if not current_user.is_authenticated or not isinstance(proof, dict):
        return None
    if proof.get("person") != current_user.id:
        return None
    return datetime.fromtimestamp(float(proof.get("at", 0)), UTC)


def note_factor_verified(person_id: int | None = None) -> None:
    """The signed-in person (or the one about to be) used a second factor just now."""
    who = person_id if person_id is not None else current_user.id
    session[FACTOR_KEY] = {"person": who, "at": time.time()}


def forget_factor() -> None:
    session.pop(FACTOR_KEY, None)


# --- the sign-in between password and second factor -------------------------------------------


@dataclass(frozen=True)
class PendingSignIn:
    person_id: int
    session_version: int
    remember: bool
    next: str | None


def start_pending(
    person_id: int, session_version: int, *, remember: bool, next: str | None
) -> None:
    """The password was right and a second factor is due: remember who, for a few minutes."""
    forget_factor()
    session[PENDING_KEY] = {
        "person": person_id,
        "version": session_version,
        "until": time.time() + PENDING_SECONDS,
        "remember": bool(remember),
        "next": local_path(next),
    }


def pending() -> PendingSignIn | None:
    """The sign-in waiting for its second factor, unless it has expired."""
    stash = session.get(PENDING_KEY)
    if not isinstance(stash, dict) or float(stash.get("until", 0)) < time.time():
        return None
    return PendingSignIn(
        person_id=int(stash["person"]),
        session_version=int(stash["version"]),
        remember=bool(stash.get("remember")),
        next=local_path(stash.get("next")),
    )


def end_pending() -> None:
    session.pop(PENDING_KEY, None)


def second_step_due(
    person_id: int, session_version: int, *, remember: bool, next: str | None
) -> Response | None:
    """The sign-in's password was right. A person with a second factor is not signed in
    yet but sent to use it (rule 17): the redirect; None for a person without one."""
    forget_factor()
    if not has_factor(person_id):
        return None
    start_pending(person_id, session_version, remember=remember, next=next)
    return redirect(url_for("factors.second_step"))


# --- step-up ----------------------------------------------------------------------------------


def _return_path() -> str:
    # A page comes back to itself; a one-button action (POST) to the page that had the
    # button, when the browser says which page of this site that was.
    if request.method == "GET":
        return request.full_path.rstrip("?") if request.query_string else request.path
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        back = local_path(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
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
