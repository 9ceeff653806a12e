"""The member's dashboard shows the sections the areas above accounts register with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import ChoiceLoader, DictLoader

from portal.accounts import dashboard, services
from portal.accounts.dashboard import Section
from portal.accounts.models import Person
from tests.factories import PASSWORD

pytestmark = pytest.mark.usefixtures("network", "no_page_cache")

EN = {"Accept-Language": "en"}

SECTION_TEMPLATES = {
    "tests/first.html": "<section>first section for {{ person.email }}: {{ note }}</section>",
    "tests/last.html": "<section>last section: {{ note }}</section>",
    "tests/never.html": "<section>a section with nothing to show</section>",
}


@pytest.fixture
def test_sections(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Three more sections: one before the benefits', one after, one with nothing to show."""
    monkeypatch.setattr(dashboard, "_SECTIONS", dict(dashboard._SECTIONS))
    loader = ChoiceLoader([DictLoader(SECTION_TEMPLATES), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)

    def first(person: Person) -> dashboard.SectionContent:
        return "tests/first.html", {"note": "<b>escaped</b>"}

    def nothing(person: Person) -> dashboard.SectionContent:
        return None

    dashboard.register(
        Section(position=90, name="last", provider=lambda p: ("tests/last.html", {"note": "late"}))
    )
    dashboard.register(Section(position=1, name="first", provider=first))
    dashboard.register(Section(position=50, name="never", provider=nothing))
    yield


def _dashboard(client: FlaskClient) -> str:
    services.create_person_directly("ada@example.org", PASSWORD, family_name="L", given_name="Ada")
    client.post("/login", data={"email": "ada@example.org", "password": PASSWORD})
    return client.get("/account", headers=EN).get_data(as_text=True)


@pytest.mark.usefixtures("test_sections")
def test_every_registered_section_shows_in_order_after_what_needs_the_person(
    client: FlaskClient,
) -> None:
    html = _dashboard(client)

    order = [
        html.index("<h1>"),
        html.index("first section for ada@example.org"),
        html.index("last section: late"),
        html.index('id="memberships-title"'),
        html.index('id="settings-title"'),
    ]
    assert order == sorted(order)
    assert "&lt;b&gt;escaped&lt;/b&gt;" in html  # a section's values are escaped as anywhere
    assert "a section with nothing to show" not in html


def test_registering_a_section_again_replaces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "_SECTIONS", {})

    dashboard.register(Section(position=5, name="events", provider=lambda p: None))
    dashboard.register(Section(position=7, name="events", provider=lambda p: None))

    assert [(s.name, s.position) for s in dashboard.sections()] == [("events", 7)]


def test_the_app_registers_the_sections_of_the_areas_above_accounts() -> None:
    names = [section.name for section in dashboard.sections()]
    assert names[:4] == ["payments", "dues", "events", "benefits"]
    # LINK-J membership is where the person stands, not a need: "Nothing needs you now" stays.
    assert [s.name for s in dashboard.sections() if s.informs] == ["dues"]
