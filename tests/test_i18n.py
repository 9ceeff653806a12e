"""Every page speaks Japanese and English: catalogue completeness and the language choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from portal.i18n import LANGUAGE_COOKIE

ROOT = Path(__file__).resolve().parents[1]
JA_PO = ROOT / "portal" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
JA_MO = JA_PO.with_suffix(".mo")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "_l": None,
    "lazy_gettext": None,
    "ngettext": (1, 2),
    "lazy_ngettext": (1, 2),
}
METHOD_MAP = [
    ("portal/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]


def _source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), METHOD_MAP, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue():
    with JA_PO.open("rb") as po:
        return read_po(po, locale="ja")


def test_every_message_in_the_source_has_a_japanese_translation() -> None:
    catalogue = _catalogue()
    missing = []
    for msgid in sorted(_source_messages()):
        message = catalogue.get(msgid)
        translation = message.string if message else None
        if isinstance(translation, tuple | list):
            translation = translation[0]
        if not translation:
            missing.append(msgid)
    assert not missing, f"untranslated in ja (run scripts/translations.sh): {missing}"


def test_no_japanese_translation_is_fuzzy() -> None:
    fuzzy = [m.id for m in _catalogue() if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in ja: {fuzzy}"


def test_compiled_catalogue_matches_the_po_file() -> None:
    def as_key(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    with JA_MO.open("rb") as mo:
        compiled = {as_key(m.id): as_key(m.string) for m in read_mo(mo) if m.id}
    written = {as_key(m.id): as_key(m.string) for m in _catalogue() if m.id}
    assert compiled == written, "run scripts/translations.sh to recompile messages.mo"


def test_accept_language_chooses_japanese(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "ja-JP,ja;q=0.9"}).get_data(as_text=True)
    assert '<html lang="ja">' in html


def test_unsupported_language_falls_back_to_english(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert '<html lang="en">' in html


def test_switcher_remembers_the_choice_over_accept_language(client: FlaskClient) -> None:
    response = client.post("/language", data={"language": "ja", "next": "/partners"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/partners"
    cookie = client.get_cookie(LANGUAGE_COOKIE)
    assert cookie is not None and cookie.value == "ja"
    html = client.get("/partners", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ja">' in html


def test_switcher_refuses_to_redirect_off_site(client: FlaskClient) -> None:
    response = client.post("/language", data={"language": "en", "next": "//evil.example/"})

    assert response.headers["Location"] == "/"


def test_switcher_ignores_an_unknown_language(client: FlaskClient) -> None:
    client.post("/language", data={"language": "xx", "next": "/"})

    assert client.get_cookie(LANGUAGE_COOKIE) is None


def test_switcher_refuses_a_request_from_another_site(
    client: FlaskClient, csrf_enabled: None
) -> None:
    response = client.post(
        "/language",
        data={"language": "ja", "next": "/"},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert client.get_cookie(LANGUAGE_COOKIE) is None


def test_switcher_refuses_what_the_browser_says_is_cross_site_without_an_origin(
    client: FlaskClient, csrf_enabled: None
) -> None:
    response = client.post(
        "/language", data={"language": "ja", "next": "/"}, headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert response.status_code == 403
    assert client.get_cookie(LANGUAGE_COOKIE) is None


def test_switcher_works_from_the_portals_own_pages_without_a_session(
    client: FlaskClient, csrf_enabled: None, network: None
) -> None:
    response = client.post(
        "/language",
        data={"language": "ja", "next": "/partners"},
        headers={"Origin": "http://localhost"},
    )

    assert response.status_code == 302
    assert client.get_cookie(LANGUAGE_COOKIE).value == "ja"  # type: ignore[union-attr]


def test_public_pages_give_an_anonymous_visitor_no_session_cookie(
    client: FlaskClient, csrf_enabled: None, network: None
) -> None:
    # A cookie on every public page would make them uncacheable (and track visitors).
    for path in ("/", "/partners", "/events/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path


@pytest.mark.parametrize(("language", "expected"), [("en", "May 2016"), ("ja", "2016年5月")])
def test_months_follow_the_viewers_language(
    client: FlaskClient, network: None, language: str, expected: str
) -> None:
    html = client.get("/mou/link-j-biocom-2016", headers={"Accept-Language": language})
    assert expected in html.get_data(as_text=True)
