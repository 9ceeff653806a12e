"""Member forms say what is missing at the top and beside each field; words read in context."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale

from portal.accounts.models import Person
from portal.benefits.views import claim_status_label
from portal.events.labels import event_status_label, registration_status_label
from portal.extensions import db
from portal.payments.management import payment_status_label
from tests.factories import add_person
from tests.roles import login

pytestmark = pytest.mark.usefixtures("network")

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}


def html(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def summary(page: str) -> list[str]:
    """The error summary's lines, as a person reads them."""
    block = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert block, "no error summary at the top of the form"
    return [
        re.sub(r"<[^>]+>", "", item).strip()
        for item in re.findall(r"<li>(.*?)</li>", block[0], re.S)
    ]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            JA,
            [
                "メールアドレス: メールアドレスを入力してください。",
                "所属団体: 所属団体を選択してください。",
            ],
        ),
        (
            EN,
            [
                "Email address: Enter the email address.",
                "Home organization: Choose the home organization.",
            ],
        ),
    ],
)
def test_an_empty_registration_lists_what_is_missing_and_creates_nobody(
    client: FlaskClient, headers: dict[str, str], expected: list[str]
) -> None:
    people = db.session.query(Person).count()

    response = client.post("/register", data={"organization": ""}, headers=headers)

    assert response.status_code == 200
    page = html(response)
    lines = summary(page)
    for line in expected:
        assert line in lines, lines
    assert "This field is required" not in page and "このフィールドは必須です" not in page
    # Each field also says it beside itself, tied to it for screen readers.
    assert 'aria-describedby="email-error"' in page
    assert db.session.query(Person).count() == people


def test_the_organization_select_starts_with_an_empty_choice(client: FlaskClient) -> None:
    page = html(client.get("/register", headers=EN))

    select = re.search(r'<select[^>]*id="organization"[^>]*>\s*<option([^>]*)>([^<]*)<', page)
    assert select, "no organization select"
    assert 'value=""' in select[1] and select[2] == "Choose your home organization"
    # One "Membership" legend: the kind of membership has its own name.
    assert page.count("<legend>Membership</legend>") == 1
    assert "<legend>Kind of membership</legend>" in page


def test_the_login_form_has_the_summary_too(client: FlaskClient) -> None:
    lines = summary(html(client.post("/login", data={}, headers=JA)))

    assert "メールアドレス: メールアドレスを入力してください。" in lines
    assert "パスワード: パスワードを入力してください。" in lines


@pytest.mark.parametrize(
    ("headers", "heading"),
    [
        (EN, "You do not have permission to open this page"),
        (JA, "このページを開く権限がありません"),
    ],
)
def test_the_403_page_says_the_person_lacks_permission(
    client: FlaskClient, headers: dict[str, str], heading: str
) -> None:
    login(client, add_person())

    response = client.get("/admin/events", headers=headers)

    assert response.status_code == 403
    assert heading in html(response)
    assert "reload the page" not in html(response)


def test_cancelled_and_refunded_read_in_context_in_japanese() -> None:
    with force_locale("ja"):
        assert registration_status_label("cancelled") == "キャンセル済み"
        assert event_status_label("cancelled") == "中止"
        assert claim_status_label("cancelled") == "取り下げ"
        assert payment_status_label("refunded") == "返金済み"
    with force_locale("en"):
        assert registration_status_label("cancelled") == "Cancelled"
        assert event_status_label("cancelled") == "Cancelled"


def test_no_japanese_message_says_anata_or_handan() -> None:
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).parents[1] / "portal/translations/ja/LC_MESSAGES/messages.po"
    with path.open("rb") as file:
        catalogue = read_po(file)
    texts = [
        " ".join(m.string) if isinstance(m.string, tuple) else m.string for m in catalogue if m.id
    ]
    assert not [t for t in texts if "あなた" in t]
    assert not [t for t in texts if "判断" in t]
