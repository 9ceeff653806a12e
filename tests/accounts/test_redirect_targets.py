"""Where a ``next`` may send a browser: a path on this site, nothing else (one rule,
``portal.inputs.safe_next``), tried through the doors people use: signing in and the
language switch."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient

from portal.inputs import safe_next
from tests.factories import PASSWORD, add_person

#: Each as an attacker would put it in a link (already percent-encoded where it says so).
PAYLOADS = [
    "/%09/evil.example",
    "/%0a/evil",
    "/%0d/evil",
    "/%0D%0A/evil",
    "/%00/evil",
    "/%20/evil",
    "/\\evil",
    "/\\\\evil",
    "\\\\evil",
    "%5C%5Cevil",
    "/%5C%5Cevil",
    "/%5Cevil",
    "//evil",
    "///evil",
    "/%2F/evil",
    "/%2F%2Fevil",
    "%2F%2Fevil",
    "/%252F%252Fevil",
    "%2525252F%2525252Fevil",
    "https:evil",
    "https:/evil",
    "https://evil",
    "HTTPS://evil",
    "https%3A%2F%2Fevil",
    "javascript:alert(1)",
    "//evil.example/account",
    "/\t/evil",
    "evil.example",
    "@evil.example",
    "/%E3%80%80/evil",  # an ideographic space
]

ON_SITE = ["/account", "/events/?page=2", "/events/forum-2018?lang=ja", "/benefits/%E6%97%A5"]


def lands_on_site(location: str) -> bool:
    """What a browser would make of the Location: still this site (no host, no scheme), and
    not a path a browser would turn into another host."""
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not any(c.isspace() or ord(c) < 32 for c in location)
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_rule_refuses_every_payload(payload: str) -> None:
    assert safe_next(payload) is None
    assert safe_next(quote(payload, safe="")) is None


@pytest.mark.parametrize("path", ON_SITE)
def test_the_rule_keeps_paths_on_this_site(path: str) -> None:
    assert safe_next(path) == path


@pytest.mark.parametrize("payload", PAYLOADS)
def test_signing_in_never_leaves_the_site(client: FlaskClient, network: None, payload: str) -> None:
    person = add_person()
    response = client.post(
        f"/login?next={payload}", data={"email": person.email, "password": PASSWORD}
    )
    # Raw control characters in an address are refused before any view (a 400), else the
    # sign-in goes to the dashboard.
    if response.status_code == 400:
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_signing_in_with_an_encoded_payload_never_leaves_the_site(
    client: FlaskClient, network: None, payload: str
) -> None:
    person = add_person()
    response = client.post(
        f"/login?next={quote(payload, safe='')}",
        data={"email": person.email, "password": PASSWORD},
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("path", ON_SITE)
def test_signing_in_goes_on_to_a_page_of_this_site(
    client: FlaskClient, network: None, path: str
) -> None:
    person = add_person()
    response = client.post(
        f"/login?next={quote(path, safe='/')}", data={"email": person.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert lands_on_site(response.headers["Location"])
    assert urlsplit(response.headers["Location"]).path.startswith(path.split("?")[0][:8])


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_language_switch_never_leaves_the_site(client: FlaskClient, payload: str) -> None:
    response = client.post("/language", data={"language": "ja", "next": payload})
    if response.status_code == 400:  # a raw control character, refused at the door
        return
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert lands_on_site(response.headers["Location"])


def test_the_language_switch_goes_back_to_the_page(client: FlaskClient) -> None:
    response = client.post("/language", data={"language": "ja", "next": "/events/?page=2"})
    assert response.headers["Location"] == "/events/?page=2"
    assert "portal_lang=ja" in response.headers["Set-Cookie"]
