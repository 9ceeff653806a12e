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
    """Templates read the request's catalogue where it is kept (``portal.i18n``), not through
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
