"""The one answer to a service's refusal raised in a view (``portal.pages``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Blueprint, Flask, render_template_string
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from wtforms import StringField

from portal import create_app
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.pages import on_refusal

FORM_PAGE = "{% for m in get_flashed_messages() %}<p class=flash>{{ m }}</p>{% endfor %}"


class NameForm(FlaskForm):
    name = StringField()


def _views() -> Blueprint:
    views = Blueprint("refusals", __name__)

    @views.route("/form", methods=["GET", "POST"])
    def form_page() -> str:
        form = NameForm()
        if form.validate_on_submit():
            on_refusal("errors/generic.html", form=form, error=None)
            raise InvalidInput("Enter a name.", field="name" if form.name.data else None)
        return render_template_string(FORM_PAGE)

    @views.post("/action")
    def action() -> str:
        raise InvalidTransition("Already done.")

    @views.post("/action-to")
    def action_to() -> str:
        on_refusal(to="/form?tab=2")
        raise InvalidTransition("Already done.")

    @views.post("/hidden")
    def hidden() -> str:
        raise NotFound("Not found.")

    return views


@pytest.fixture(scope="module")
def refusing_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("refusals")
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'unused.sqlite3'}",
            "PAGE_CACHE_URL": "",
        }
    )
    app.register_blueprint(_views())
    yield app


@pytest.fixture
def refusing(refusing_app: Flask) -> FlaskClient:
    return refusing_app.test_client()


def test_a_refused_form_is_shown_again_with_400_and_the_message(refusing: FlaskClient) -> None:
    answer = refusing.post("/form", data={"name": ""})
    assert answer.status_code == 400
    assert "Enter a name." in answer.get_data(as_text=True)


def test_a_refusal_naming_a_field_puts_the_message_on_that_field(refusing_app: Flask) -> None:
    seen: dict[str, list[str]] = {}
    with refusing_app.test_request_context("/form", method="POST", data={"name": "x"}):
        from portal.pages import answer_refusal

        form = NameForm()
        on_refusal("errors/generic.html", form=form, error=None)
        body, status = answer_refusal(InvalidInput("Too short.", field="name"))  # type: ignore[misc]
        seen["errors"] = form.name.errors
    assert status == 400
    assert seen["errors"] == ["Too short."]


def test_a_one_button_action_goes_back_to_the_page_that_had_the_button(
    refusing: FlaskClient,
) -> None:
    answer = refusing.post("/action", headers={"Referer": "http://localhost/form?tab=1"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/form?tab=1"
    assert "Already done." in refusing.get("/form").get_data(as_text=True)


def test_a_referrer_on_another_site_is_never_followed(refusing: FlaskClient) -> None:
    answer = refusing.post("/action", headers={"Referer": "https://evil.example/form"})
    assert answer.headers["Location"] == "/"


def test_a_view_may_name_where_a_refusal_goes(refusing: FlaskClient) -> None:
    answer = refusing.post("/action-to")
    assert answer.headers["Location"] == "/form?tab=2"


def test_not_found_is_the_404_page_whatever_the_view_said(refusing: FlaskClient) -> None:
    answer = refusing.post("/hidden")
    assert answer.status_code == 404
