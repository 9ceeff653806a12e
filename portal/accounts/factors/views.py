"""The second-factor pages: the security settings, enrolment, the sign-in's second step and
the step-up confirmation (rule 17). Blueprint ``factors``."""

from __future__ import annotations

import base64
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from portal.accounts import sessions
from portal.accounts.factors import apps, passkeys, recovery, removal, requirement, state
from portal.accounts.factors.checking import Method, confirm_factor
from portal.accounts.factors.enrolled import enrolled
from portal.accounts.factors.forms import (
    AppCodeForm,
    NewPasskeyForm,
    PasskeyAnswerForm,
    RecoveryCodeForm,
)
from portal.accounts.landing import landing_url
from portal.accounts.models import Person
from portal.extensions import db, limiter
from portal.forms import ConfirmForm
from portal.inputs import safe_next
from portal.language import gettext as _
from portal.pages import acting_person, on_refusal

blueprint = Blueprint("factors", __name__)

CHALLENGE_KEY = "webauthn_challenge"
APP_SETUP_KEY = "totp_setup"


def _keep_challenge(challenge: bytes) -> None:
    session[CHALLENGE_KEY] = base64.urlsafe_b64encode(challenge).decode()


def _take_challenge() -> bytes | None:
    # Each challenge is answered once: taken out of the session as it is checked.
    kept = session.pop(CHALLENGE_KEY, None)
    return base64.urlsafe_b64decode(kept) if isinstance(kept, str) else None


def _failures_only(response: Response) -> bool:
    return response.status_code != 302


def _factor_person_key() -> str:
    # Guessing codes is limited per account, however many addresses it comes from.
    held = state.held_sign_in()
    who = held.person_id if held else (current_user.id if current_user.is_authenticated else "")
    return f"factor:{who}"


# --- the security page and enrolment -----------------------------------------------------------


@blueprint.get("/account/security")
@login_required
def security() -> str:
    person = acting_person()
    ceremony = passkeys.registration_ceremony(person)
    _keep_challenge(ceremony.challenge)
    privileged = requirement.is_privileged(person)
    return render_template(
        "accounts/factors/security.html",
        factors=enrolled(person.id),
        passkey_form=NewPasskeyForm(),
        passkey_options=ceremony.options_json,
        privileged=privileged,
        due=requirement.grace_due(person) if privileged else None,
        confirm_form=ConfirmForm(),
    )


def _show_recovery_codes(codes: list[str] | None, added: str) -> str | Response:
    flash(added, "success")
    if codes is None:
        return redirect(url_for("factors.security"))
    return render_template("accounts/factors/recovery_codes.html", codes=codes)


@blueprint.post("/account/security/passkeys")
@login_required
def add_passkey() -> str | Response:
    state.require_recent_factor()
    # The service says what is wrong with the name or the answer (CSRF is checked app-wide).
    form = NewPasskeyForm()
    on_refusal(to=url_for("factors.security"))
    codes = passkeys.add_passkey(
        acting_person(),
        name=form.name.data or "",
        credential=(form.credential.data or "")[:20_000],
        challenge=_take_challenge(),
    )
    state.note_factor_verified()
    return _show_recovery_codes(codes, _("Your passkey is added."))


@blueprint.route("/account/security/app", methods=["GET", "POST"])
@login_required
def add_app() -> str | Response:
    state.require_recent_factor()
    person = acting_person()
    # The secret waits in this session until a code proves the app holds it: only then saved.
    # It names its person: someone signing in next on this browser gets a secret of their own.
    waiting = session.get(APP_SETUP_KEY)
    if isinstance(waiting, dict) and waiting.get("person") == person.id:
        secret = str(waiting["secret"])
    else:
        secret = apps.new_secret()
        session[APP_SETUP_KEY] = {"person": person.id, "secret": secret}
    form = AppCodeForm()
    uri = apps.setup_uri(person, secret)
    page = {"form": form, "secret": secret, "qr": apps.qr_svg(uri)}
    if form.validate_on_submit():
        on_refusal("accounts/factors/app_setup.html", **page)
        codes = apps.add_app(person, secret=secret, code=form.code.data)
        session.pop(APP_SETUP_KEY, None)
        state.note_factor_verified()
        return _show_recovery_codes(codes, _("Your authenticator app is added."))
    return render_template("accounts/factors/app_setup.html", **page)


@blueprint.post("/account/security/passkeys/<int:passkey_id>/remove")
@login_required
def remove_passkey(passkey_id: int) -> Response:
    state.require_recent_factor()
    if ConfirmForm().validate_on_submit():
        on_refusal(to=url_for("factors.security"))
        key = removal.remove_passkey(acting_person(), passkey_id)
        flash(_("The passkey “%(name)s” is removed.", name=key.name), "success")
    return redirect(url_for("factors.security"))


@blueprint.post("/account/security/app/remove")
@login_required
def remove_app() -> Response:
    state.require_recent_factor()
    if ConfirmForm().validate_on_submit():
        on_refusal(to=url_for("factors.security"))
        removal.remove_app(acting_person())
        flash(_("The authenticator app is removed."), "success")
    return redirect(url_for("factors.security"))


@blueprint.post("/account/security/recovery-codes")
@login_required
def renew_recovery_codes() -> str | Response:
    state.require_recent_factor()
    person = acting_person()
    if not ConfirmForm().validate_on_submit() or not enrolled(person.id).any:
        return redirect(url_for("factors.security"))
    return render_template(
        "accounts/factors/recovery_codes.html", codes=recovery.renew_codes(person)
    )


# --- using a factor: the sign-in's second step, and step-up -----------------------------------


def _answer(form_kind: str | None) -> tuple[Method, str] | None:
    """Which factor the posted form used, and its answer."""
    if form_kind == "passkey":
        form = PasskeyAnswerForm()
        return (Method.PASSKEY, form.credential.data or "") if form.validate_on_submit() else None
    if form_kind == "app":
        form = AppCodeForm()
        return (Method.APP, form.code.data) if form.validate_on_submit() else None
    if form_kind == "recovery":
        form = RecoveryCodeForm()
        return (
            (Method.RECOVERY_CODE, form.recovery_code.data) if form.validate_on_submit() else None
        )
    return None


def _verify_context(person: Person, *, action: str) -> dict[str, Any]:
    """The page asking for a factor, with a new passkey challenge when the person has one."""
    factors = enrolled(person.id)
    options = None
    if factors.passkeys:
        ceremony = passkeys.authentication_ceremony(person)
        _keep_challenge(ceremony.challenge)
        options = ceremony.options_json
    return {
        "factors": factors,
        "action": action,
        "passkey_options": options,
        "passkey_form": PasskeyAnswerForm(),
        "app_form": AppCodeForm(),
        "recovery_form": RecoveryCodeForm(),
        "signing_in": not current_user.is_authenticated,
    }


VERIFY_TEMPLATE = "accounts/factors/verify.html"


def _check(person: Person, *, action: str, step_up: bool) -> tuple[str, int] | None:
    """None when the posted answer is right; else the page again, saying why (status 400,
    which the rate limit counts)."""
    answer = _answer(request.form.get("kind"))
    challenge = _take_challenge()
    context = _verify_context(person, action=action)
    if answer is None:
        flash(_("Enter the code, or use your passkey."), "error")
        return render_template(VERIFY_TEMPLATE, **context), 400
    on_refusal(VERIFY_TEMPLATE, **context)
    confirm_factor(person, answer[0], answer[1], challenge=challenge, step_up=step_up)
    return None


@blueprint.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(
    "10 per 15 minutes", methods=["POST"], key_func=_factor_person_key, deduct_when=_failures_only
)
def second_step() -> str | Response | tuple[str, int]:
    held = state.held_sign_in()
    if held is None:
        flash(_("Please log in again."), "info")
        return redirect(url_for("accounts.login"))
    person = db.session.get(Person, held.person_id)
    target = safe_next(request.args.get("next") or session.get(sessions.HELD_NEXT)) or landing_url(
        person
    )
    action = url_for("factors.second_step", next=target)
    if request.method == "POST":
        refused = _check(person, action=action, step_up=False)
        if refused is not None:
            return refused
        opened = sessions.release_hold(
            held,
            state.SECOND_FACTOR_STEP,
            user_agent=request.user_agent.string,
            address=get_remote_address(),
        )
        session.pop(sessions.HELD_SIGN_IN, None)
        session.pop(sessions.HELD_NEXT, None)
        login_user(opened.person, remember=opened.record.remember)
        state.note_factor_verified(person.id, opened.record.id)
        return redirect(target)
    return render_template(VERIFY_TEMPLATE, **_verify_context(person, action=action))


@blueprint.route("/account/confirm-factor", methods=["GET", "POST"])
@login_required
@limiter.limit(
    "10 per 15 minutes", methods=["POST"], key_func=_factor_person_key, deduct_when=_failures_only
)
def confirm() -> str | Response | tuple[str, int]:
    back = safe_next(request.args.get("next")) or url_for("accounts.dashboard")
    person = acting_person()
    if not enrolled(person.id).any:
        return redirect(back)
    action = url_for("factors.confirm", next=back)
    if request.method == "POST":
        refused = _check(person, action=action, step_up=True)
        if refused is not None:
            return refused
        state.note_factor_verified()
        return redirect(back)
    return render_template(VERIFY_TEMPLATE, **_verify_context(person, action=action))
