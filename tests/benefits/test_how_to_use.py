"""A granted benefit says how to use it: in the mail, on the claims page, and the dashboard's
news of the decision leads there."""

from __future__ import annotations

from flask.testing import FlaskClient

from portal.benefits import services
from portal.notifications.services import deliver_due, smtp_transport
from tests.factories import SMTPCapture
from tests.roles import Story, login

EN = {"Accept-Language": "en"}


def test_an_approved_claim_tells_how_to_use_it_everywhere_the_member_looks(
    client: FlaskClient, story: Story, smtp_server: SMTPCapture
) -> None:
    claim = services.claim_benefit(story.taro, story.member_rate)
    services.approve_claim(claim, actor=story.one_nucleus_admin)
    login(client, story.taro)

    dashboard = client.get("/account", headers=EN).get_data(as_text=True)
    claims = client.get("/benefits/claims", headers=EN).get_data(as_text=True)
    deliver_due(smtp_transport())
    mail = next(
        m for m in smtp_server.wait_for(2) if m["To"] == "taro.yamada@nihonbashi-pharma.example"
    )

    assert f'href="/benefits/claims#claim-{claim.id}">How to use it' in dashboard
    assert f'id="claim-{claim.id}"' in claims and "Enter the code at checkout." in claims
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "How to use it:" in body and "Enter the code at checkout." in body
    assert claim.code and claim.code in body
