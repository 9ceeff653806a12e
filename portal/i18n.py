"""Language choice and the localized names shared by every page (times: ``portal.timefmt``).

The viewer's language comes from, in order: the choice they made with the switcher (a
long-lived cookie), then the browser's ``Accept-Language``, then English.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    redirect,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from portal import inputs
from portal.language import (
    current_language,
    gettext,
    install_template_callables,
    keep_catalogue_per_request,
    locale,
)
from portal.money import format_money

LANGUAGE_COOKIE = "portal_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600

blueprint = Blueprint("i18n", __name__)


def select_locale() -> str:
    supported: tuple[str, ...] = current_app.config["PORTAL_LOCALES"]
    if not has_request_context():
        # Commands and workers: messages in the default language unless force_locale says.
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in supported:
        return chosen
    return request.accept_languages.best_match(supported) or supported[0]


def localized(record: Any, field: str) -> str:
    """``record.<field>_ja`` for Japanese viewers, else ``_en``; falls back to the other."""
    primary, secondary = ("ja", "en") if current_language() == "ja" else ("en", "ja")
    return getattr(record, f"{field}_{primary}") or getattr(record, f"{field}_{secondary}") or ""


def country_name(code: str) -> str:
    """The country's name in the viewer's language (Babel's CLDR data)."""
    found = locale()
    return found.territories.get(code.upper(), code) if found else code


def person_name(person: Any, language: str | None = None) -> str:
    """姓 名 for Japanese readers, given-family order (or the romanised name) for others."""
    if person is None or person.deleted_at:
        return gettext("Deleted account")
    if (language or current_language()) == "ja":
        return f"{person.family_name} {person.given_name}".strip()
    return person.romanized_name or f"{person.given_name} {person.family_name}".strip()


def person_kana(person: Any) -> str:
    return f"{person.family_name_kana} {person.given_name_kana}".strip()


def safe_next(target: str | None, fallback_endpoint: str = "organizations.home") -> str:
    """``target`` if ``inputs.safe_next`` finds it a path on this site, else the fallback's
    address: no open redirects."""
    return inputs.safe_next(target) or url_for(fallback_endpoint)


@blueprint.post("/language")
def switch_language() -> Response:
    # Guarded by the browser's own headers (OWASP: verifying origin with standard headers)
    # rather than a session token: the switch is on every page, and a token would set a
    # session cookie on every visitor who only reads. Forged, it could only change a display
    # preference.
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        abort(403)
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        abort(403)
    language = request.form.get("language", "")
    response = redirect(safe_next(request.form.get("next")))
    if language in current_app.config["PORTAL_LOCALES"]:
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def init_app(app: Flask) -> None:
    from portal.extensions import babel, csrf

    keep_catalogue_per_request(babel, app.config.get("BABEL_DEFAULT_DOMAIN", "messages"))
    csrf.exempt(switch_language)
    install_template_callables(app.jinja_env)
    app.jinja_env.globals.update(
        localized=localized,
        current_language=current_language,
        person_name=person_name,
        person_kana=person_kana,
        supported_languages=(("en", "English"), ("ja", "日本語")),
    )
    app.jinja_env.filters.update(country=country_name)
    app.jinja_env.filters["money"] = format_money
