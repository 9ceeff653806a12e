"""Signing in and out, and the member's page of their sessions (rules 15 and 16).

The views are registered on the accounts blueprint by ``accounts.views`` (``SIGN_IN_ROUTES``),
which keeps their endpoint names (``accounts.login``…). Services do the work: ``sessions``
opens, holds and ends session records; ``throttling`` says when an account is under attack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from portal.accounts import devices, forms, services, sessions, throttling
from portal.accounts.landing import landing_endpoint, landing_url
from portal.accounts.models import Person
from portal.extensions import limiter
from portal.forms import ConfirmForm
from portal.i18n import safe_next
from portal.language import gettext as _
from portal.language import ngettext
from portal.pages import acting_person, on_refusal


def form_email() -> str:
    return "account:" + services.normalize_email(request.form.get("email", ""))


def _address() -> str:
    return get_remote_address() or ""


def _account_and_address() -> str:
    # Rule 16: a guesser at one address is stopped on that account, its owner elsewhere not.
    return f"{form_email()}|{_address()}"


def setting(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _failed(response: BaseResponse) -> bool:
    return bool(g.get("sign_in_failed"))


def _succeeded(response: BaseResponse) -> bool:
    return bool(g.get("sign_in_succeeded"))


# Rule 16: failures per address and per account and address; successes apart, far higher.
@limiter.limit(
    setting("LOGIN_FAILURES_PER_ADDRESS"),
    methods=["POST"],
    deduct_when=_failed,
    scope="failures",
)
@limiter.limit(
    setting("LOGIN_SUCCESSES_PER_ADDRESS"),
    methods=["POST"],
    deduct_when=_succeeded,
    scope="successes",
)
@limiter.limit(
    setting("LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS"),
    methods=["POST"],
    key_func=_account_and_address,
    deduct_when=_failed,
    scope="account-failures",
)
def login() -> str | BaseResponse:
    if current_user.is_authenticated:
        return redirect(landing_url(current_user))
    form = forms.LoginForm()
    if form.validate_on_submit():
        account = services.normalize_email(form.email.data)
        person = services.authenticate(form.email.data, form.password.data)
        g.sign_in_succeeded = person is not None
        g.sign_in_failed = person is None
        if person is None:
            throttling.note_failure(account, _address(), services.find_person_by_email(account))
        if throttling.under_attack(account):
            # Rule 16: not locked, but the password alone no longer signs in. The answer is
            # the same whether it was right, so guessing learns nothing here.
            if person is not None and throttling.may_mail_link(account):
                sessions.mail_sign_in_link(person, remember=form.remember.data, **_device())
            return render_template(
                "accounts/link_sent.html", minutes=current_app.config["SIGN_IN_LINK_MINUTES"]
            )
        if person is not None:
            return sign_in(
                person,
                remember=form.remember.data,
                target=safe_next(request.args.get("next"), landing_endpoint(person)),
            )
        flash(_("The email address or password is not correct."), "error")
    return render_template("accounts/login.html", form=form)


def sign_in(person: Person, *, remember: bool, target: str) -> BaseResponse:
    """The person proved who they are (their password, or the link confirming their address):
    signed in and sent to ``target``, or held for the step this person must still pass (its
    page completes the sign-in, see ``sessions.SignInStep``, and then goes to ``target``).
    Every sign-in of the portal starts here."""
    step = sessions.step_for(person)
    opened = sessions.sign_in(
        person, remember=remember, hold=step.name if step else None, **_device()
    )
    return complete(opened, target)


def complete(opened: sessions.Opened, target: str) -> BaseResponse:
    """Sign the browser in with ``opened``, or send it to the step the session is held for."""
    held_for = opened.record.held_for
    if held_for is not None:
        session[sessions.HELD_SIGN_IN] = opened.secret
        session[sessions.HELD_NEXT] = target
        step = next(s for s in sessions.SIGN_IN_STEPS if s.name == held_for)
        return redirect(url_for(step.endpoint))
    session.pop(sessions.HELD_SIGN_IN, None)
    session.pop(sessions.HELD_NEXT, None)
    login_user(opened.person, remember=opened.record.remember)
    return redirect(target)


def _device() -> dict[str, str]:
    """What a session records of the browser: its User-Agent and address."""
    return {"user_agent": request.user_agent.string, "address": _address()}


@limiter.limit("30 per hour", methods=["POST"])
def sign_in_link(token: str) -> str | BaseResponse:
    # A button, not the GET: mail scanners that prefetch links must not use them up.
    form = ConfirmForm()
    if form.validate_on_submit():
        on_refusal("accounts/sign_in_link.html", form=None)
        held = sessions.held_session(
            token,
            sessions.MAILED_LINK,
            within=timedelta(minutes=current_app.config["SIGN_IN_LINK_MINUTES"]),
        )
        opened = sessions.release_hold(held, sessions.MAILED_LINK, **_device())
        return complete(opened, landing_url(opened.person))
    return render_template("accounts/sign_in_link.html", form=form)


def logout() -> BaseResponse:
    if ConfirmForm().validate_on_submit():
        if current_user.is_authenticated:
            sessions.log_out(acting_person())
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("organizations.home"))


@login_required
def sessions_page() -> str:
    person = acting_person()
    current = sessions.current_session_of(person)
    return render_template(
        "accounts/sessions.html",
        sessions=[
            (s, devices.describe(s.user_agent), devices.place(s.network), s.id == current.id)
            for s in sessions.live_sessions(person)
        ]
        if current
        else [],
        zone=person_zone(person),
        form=ConfirmForm(),
    )


@login_required
def end_session(session_id: int) -> BaseResponse:
    if ConfirmForm().validate_on_submit():
        on_refusal(to=url_for("accounts.sessions_page"))
        sessions.end_session(acting_person(), session_id)
        flash(_("That session is ended: it is logged out."), "success")
    return redirect(url_for("accounts.sessions_page"))


@login_required
def end_other_sessions() -> BaseResponse:
    if ConfirmForm().validate_on_submit():
        ended = sessions.end_other_sessions(acting_person())
        flash(
            ngettext("%(num)d other session is ended.", "%(num)d other sessions are ended.", ended),
            "success",
        )
    return redirect(url_for("accounts.sessions_page"))


def person_zone(person: Person) -> str:
    """The zone to show a person their own times in: theirs, else their organization's."""
    if person.timezone:
        return person.timezone
    return next((m.organization.timezone for m in person.memberships), "Asia/Tokyo")


GET, POST, FORM = ["GET"], ["POST"], ["GET", "POST"]

#: (rule, view, methods) for ``accounts.views`` to register.
SIGN_IN_ROUTES = (
    ("/login", login, FORM),
    ("/login/link/<token>", sign_in_link, FORM),
    ("/logout", logout, POST),
    ("/account/sessions", sessions_page, GET),
    ("/account/sessions/<int:session_id>/end", end_session, POST),
    ("/account/sessions/end-others", end_other_sessions, POST),
)
