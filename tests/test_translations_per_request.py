"""Translations are found once per request, and ``force_locale`` still switches them."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from portal.timefmt import local_moment


def test_a_forced_language_inside_a_request_gets_its_own_catalogue(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert gettext("Events") == "Events"
        with force_locale("ja"):
            assert gettext("Events") == "イベント"
        assert gettext("Events") == "Events"  # the request's own again


def test_each_request_finds_its_own_language(client: FlaskClient, network: None) -> None:
    for _ in range(2):
        japanese = client.get("/events/", headers={"Accept-Language": "ja"}).text
        english = client.get("/events/", headers={"Accept-Language": "en"}).text
        assert "<h1>共同プログラム・イベント</h1>" in japanese
        assert "Joint programs and events" in english and "Joint programs" not in japanese


def test_times_follow_a_forced_language_inside_a_request(app: Flask) -> None:
    moment = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = local_moment(moment, "Asia/Tokyo")
        with force_locale("ja"):
            japanese = local_moment(moment, "Asia/Tokyo")
        assert local_moment(moment, "Asia/Tokyo") == english
    assert "18:30" in japanese and "日本時間" in japanese
    assert "18:30 JST" in english


def test_a_template_follows_a_forced_language_inside_a_request(app: Flask) -> None:
    """Templates read the request's catalogue where it is kept (``portal.language``), not through
    Flask-Babel's look-ups: a mail rendered in another language still gets that one."""
    page = app.jinja_env.from_string(
        '{{ _("Events") }} {{ ngettext("%(num)d event", "%(num)d events", 2) }}'
    )
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = page.render()
        with force_locale("ja"):
            japanese = page.render()
        again = page.render()
    assert english == again and english.startswith("Events ")
    assert japanese.startswith("イベント ")
    with app.app_context():  # no request: the default language
        assert page.render().startswith("Events ")


def test_templates_escape_what_fills_a_message_and_not_the_message(app: Flask) -> None:
    """The portal's ``_`` (``portal.language``) formats as Jinja's newstyle gettext does: the
    variables are escaped where the template autoescapes, the message is not, and a message
    is always a format string (``%%`` is one percent sign)."""
    page = app.jinja_env.from_string(
        '{{ _("Hosted by %(host)s", host=name) }}|{{ _("100%%") }}|'
        '{{ ngettext("%(num)d upcoming event", "%(num)d upcoming events", 3) }}|'
        '{{ pgettext("invoice to a company", "Bill to: %(name)s", name=name) }}|'
        "{% trans %}Events{% endtrans %}"
    )
    # A template from a string is autoescaped (Flask). Each render in its own application
    # context, as each request has one (``g`` keeps the language).
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "ja"}):
        japanese = page.render(name="<b>R&D</b>")
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = page.render(name="<b>R&D</b>")
    assert japanese.split("|") == [
        "主催：&lt;b&gt;R&amp;D&lt;/b&gt;",
        "100%",
        "今後のイベント 3件",
        "&lt;b&gt;R&amp;D&lt;/b&gt; 御中",
        "イベント",
    ]
    assert english.split("|") == [
        "Hosted by &lt;b&gt;R&amp;D&lt;/b&gt;",
        "100%",
        "3 upcoming events",
        "Bill to: &lt;b&gt;R&amp;D&lt;/b&gt;",
        "Events",
    ]


def test_python_messages_and_lazy_labels_follow_the_language_in_force(app: Flask) -> None:
    from portal.language import current_language, lazy_gettext, ngettext, pgettext
    from portal.language import gettext as portal_gettext

    label = lazy_gettext("Events")
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "ja"}):
        assert (current_language(), str(label), portal_gettext("Events")) == (
            "ja",
            "イベント",
            "イベント",
        )
        assert ngettext("%(num)d upcoming event", "%(num)d upcoming events", 2) == (
            "今後のイベント 2件"
        )
        assert pgettext("invoice to a company", "Bill to: %(name)s", name="X") == "X 御中"
        # Without variables a message is left as it is, as Flask-Babel leaves it.
        assert portal_gettext("100%") == "100%"
        with force_locale("en"):
            assert (current_language(), str(label)) == ("en", "Events")
        assert (current_language(), str(label)) == ("ja", "イベント")
    with app.app_context():  # a command: the default language
        assert (current_language(), str(label)) == ("en", "Events")
    assert (current_language(), str(label)) == ("en", "Events")  # no application at all
