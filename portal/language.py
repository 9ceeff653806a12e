"""The request's language and message catalogue, read where Flask-Babel keeps them.

Flask-Babel keeps both on ``g._flask_babel`` (``babel_locale``, and ``babel_translations``
once the domain below has found it) and ``force_locale`` swaps them there. Its own
``gettext`` and ``get_locale`` reach them through three look-ups of ``flask.g`` and its domain
on every message, and Jinja's ``_()`` through three more layers of calls: a list page writes a
hundred and more messages and names its language as often. These functions read the same two
attributes directly and fall back to Flask-Babel wherever they are not set yet (its look-up
sets them) or there is no application context; so they answer what Flask-Babel's would, in a
request, in mail written under ``force_locale`` and in commands alike.
"""

from __future__ import annotations

from typing import Any

import flask_babel
from babel import Locale
from flask import g
from flask_babel import Babel, Domain
from flask_babel.speaklater import LazyString
from jinja2 import Environment, pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup


def _kept(attribute: str) -> Any:
    try:
        return getattr(g._flask_babel, attribute, None)
    except (AttributeError, RuntimeError):  # nothing kept yet, or no application context
        return None


class _CatalogueKeptPerRequest(Domain):
    """Flask-Babel's domain, finding the request's catalogue once per request and keeping it
    where ``catalogue()`` reads it: its own looks up the locale, names it and searches its
    cache on every message. ``force_locale`` saves, clears and restores it there, so mail
    written in another language inside a request gets that language's catalogue."""

    def get_translations(self) -> Any:
        context = flask_babel._get_current_context()
        if context is None:
            return super().get_translations()
        found = getattr(context, "babel_translations", None)
        if found is None:
            found = context.babel_translations = super().get_translations()
        return found


def keep_catalogue_per_request(babel: Babel, domain: str) -> None:
    """Give ``babel`` the domain above. Every app shares the one Babel object and its domain
    (a cached property): replaced once."""
    if not isinstance(babel.__dict__.get("domain_instance"), _CatalogueKeptPerRequest):
        babel.__dict__["domain_instance"] = _CatalogueKeptPerRequest(domain=domain)


def catalogue() -> Any:
    """The messages of the language in force (Babel's ``Translations``)."""
    found = _kept("babel_translations")
    # None also where ``force_locale`` cleared it: looked up (and kept) again.
    return found if found is not None else flask_babel.get_translations()


def locale() -> Locale | None:
    found = _kept("babel_locale")
    return found if found is not None else flask_babel.get_locale()


def current_language() -> str:
    """``ja`` or ``en``: the language of the page, mail or document being written."""
    found = locale()
    return found.language if found is not None else "en"


# The same four as Flask-Babel's, with its formatting: gettext and pgettext fill in variables
# only when given some; the plural forms always (``num`` is one).


def gettext(string: str, **variables: Any) -> str:
    text = catalogue().ugettext(string)
    return text % variables if variables else text


def pgettext(context: str, string: str, **variables: Any) -> str:
    text = catalogue().upgettext(context, string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return catalogue().ungettext(singular, plural, num) % variables


def npgettext(context: str, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return catalogue().unpgettext(context, singular, plural, num) % variables


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """A message translated each time it is written (labels defined at import time)."""
    return LazyString(gettext, string, **variables)


def lazy_pgettext(context: str, string: str, **variables: Any) -> LazyString:
    return LazyString(pgettext, context, string, **variables)


# Jinja's own callables (``install_gettext_callables(newstyle=True)``) wrap each function in
# two more calls through the template context. These do what those do, in one call: the
# message is markup-safe where the template autoescapes, so the variables (and not the
# message) are escaped, and it is always a format string (``%%`` is a percent sign), also
# without variables, as Jinja's newstyle gettext has it.


def _written(eval_ctx: EvalContext, text: str, variables: dict[str, Any]) -> str:
    if eval_ctx.autoescape:
        return Markup(text) % variables  # noqa: S704 - our catalogue's message, as Jinja's own
    return text % variables


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, string: str, **variables: Any) -> str:
    return _written(eval_ctx, catalogue().ugettext(string), variables)


@pass_eval_context
def _template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, num: int, **variables: Any
) -> str:
    variables.setdefault("num", num)
    return _written(eval_ctx, catalogue().ungettext(singular, plural, num), variables)


@pass_eval_context
def _template_pgettext(eval_ctx: EvalContext, context: str, string: str, **variables: Any) -> str:
    variables.setdefault("context", context)
    return _written(eval_ctx, catalogue().upgettext(context, string), variables)


@pass_eval_context
def _template_npgettext(
    eval_ctx: EvalContext, context: str, singular: str, plural: str, num: int, **variables: Any
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    return _written(eval_ctx, catalogue().unpgettext(context, singular, plural, num), variables)


def install_template_callables(environment: Environment) -> None:
    """Templates' ``_``, ``gettext``, ``ngettext``, ``pgettext``, ``npgettext`` and the
    ``{% trans %}`` tag (which calls them by name), reading the catalogue above."""
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext, newstyle=True
    )
    environment.globals.update(
        _=_template_gettext,
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )
