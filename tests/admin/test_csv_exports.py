"""Every CSV staff download keeps what people typed as text: a name, an answer or a short name
starting like a formula never runs as one in Excel (CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.events.models import Registration
from portal.extensions import db
from tests.factories import add_event, add_person, org, ticket
from tests.roles import Cast, login

EN = {"Accept-Language": "en"}


def cells(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())  # Excel in Japan needs the BOM
    return [
        cell for row in csv.reader(io.StringIO(response.data.decode("utf-8-sig"))) for cell in row
    ]


def _organization_form(slug: str, **changes: str) -> dict[str, str]:
    found = org(slug)
    data = {
        name: str(getattr(found, name) or "")
        for name in (
            "slug",
            "short_name",
            "name_en",
            "name_ja",
            "country",
            "city_en",
            "city_ja",
            "website",
            "timezone",
            "default_currency",
            "membership_year_end_month",
            "description_en",
            "description_ja",
        )
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_what_people_type_never_becomes_a_formula_in_any_export(
    client: FlaskClient, cast: Cast, start: str
) -> None:
    typed = f'{start}HYPERLINK("http://evil.example","x")'
    event = add_event(
        host="link-j",
        agreements=("link-j-biocom-2016",),
        questions=({"kind": "text", "label_en": "Field", "label_ja": "分野"},),
    )
    member = add_person("formula@example.org", family_name="Plain", given_name="Name")
    login(client, member)
    # A member types the name, affiliation and answer on the portal's own forms.
    profile = client.post(
        "/account/profile",
        data={
            "family_name": typed,
            "given_name": typed,
            "romanized_name": typed,
            "affiliation": typed,
            "preferred_locale": "en",
        },
        headers=EN,
    )
    assert profile.status_code == 302
    registered = client.post(
        f"/events/{event.slug}/register",
        data={
            "ticket_type": str(ticket(event, "non_member").id),
            f"q_{event.questions[0].id}": typed,
        },
        headers=EN,
    )
    assert registered.status_code == 302
    registration = db.session.scalar(select(Registration).where(Registration.event_id == event.id))
    invoiced = client.post(
        f"/payments/registrations/{registration.id}/invoice",
        data={"company": "日本橋製薬株式会社", "recipient_name": ""},
        headers=EN,
    )
    assert invoiced.status_code == 302 and "/payments/invoices/" in invoiced.location
    # Staff type a partner's short name on theirs.
    login(client, cast.staff)
    renamed = client.post(
        "/admin/network/organizations/biocom/edit",
        data=_organization_form("biocom", short_name=typed[:40]),
        headers=EN,
    )
    assert renamed.status_code == 302

    exports = {
        "payments": cells(client.get("/admin/payments.csv", headers=EN)),
        "registrations": cells(
            client.get(f"/admin/events/{event.slug}/registrations.csv", headers=EN)
        ),
        "reciprocity report": cells(client.get("/admin/report.csv?period=year", headers=EN)),
    }

    for name, found in exports.items():
        assert not any(cell.startswith(start) for cell in found), (name, found)
    assert exports["payments"].count("'" + typed) == 1  # the payer
    # Name, kana left empty, affiliation, the answer.
    assert exports["registrations"].count("'" + typed) == 3
    assert "'" + typed[:40] in exports["reciprocity report"]
