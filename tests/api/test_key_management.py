"""The API keys page: partner admins create keys for their own organization (secret shown
once), revoke them; others get 404 (rule 4, rule 18)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from portal.api.models import ApiKey
from portal.extensions import db
from tests.accounts.test_second_factors import factor_used, with_app
from tests.api.callers import admin_of
from tests.factories import audit
from tests.roles import login


def test_a_partner_admin_creates_a_key_and_sees_its_secret_once(client, network) -> None:
    officer = admin_of("biocom")
    login(client, officer)

    page = client.post(
        "/admin/organizations/biocom/api-keys",
        data={"name": "Salesforce", "scopes": ["memberships:read", "roster:write"]},
    )

    assert page.status_code == 201
    secret = re.search(r'<code id="new-key">(lkj_[^<]+)</code>', page.text).group(1)
    assert page.headers["Cache-Control"] == "no-store"
    key = db.session.scalar(select(ApiKey))
    assert (key.name, key.scopes) == ("Salesforce", ["memberships:read", "roster:write"])
    assert audit("api_key.create")[0].actor_id == officer.id
    again = client.get("/admin/organizations/biocom/api-keys")
    assert secret not in again.text and key.prefix in again.text
    api = client.get("/api/v1/mous", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_a_key_needs_a_name_and_a_permission(client, network) -> None:
    login(client, admin_of("biocom"))

    page = client.post("/admin/organizations/biocom/api-keys", data={"name": ""})

    assert page.status_code == 400
    assert db.session.scalar(select(ApiKey)) is None


def test_another_organizations_keys_page_is_404(client, network) -> None:
    login(client, admin_of("one-nucleus"))

    assert client.get("/admin/organizations/biocom/api-keys").status_code == 404
    refused = client.post(
        "/admin/organizations/biocom/api-keys",
        data={"name": "x", "scopes": ["memberships:read"]},
    )
    assert refused.status_code == 404
    assert db.session.scalar(select(ApiKey)) is None


def test_revoking_from_the_page(client, network) -> None:
    officer = admin_of("biocom")
    login(client, officer)
    client.post(
        "/admin/organizations/biocom/api-keys",
        data={"name": "CRM", "scopes": ["memberships:read"]},
    )
    key = db.session.scalar(select(ApiKey))

    other = admin_of("one-nucleus")
    login(client, other)
    assert client.post(f"/admin/api-keys/{key.id}/revoke").status_code == 404
    login(client, officer)
    client.post(f"/admin/api-keys/{key.id}/revoke")

    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).revoked_at is not None
    assert audit("api_key.revoke")[0].actor_id == officer.id


def test_creating_a_key_asks_again_for_a_second_factor_used_long_ago(client, network) -> None:
    """Rule 17: a key acts with its creator's rights while it lives, like a role grant."""
    officer = admin_of("biocom")
    totp = with_app(officer)
    factor_used(client, officer, minutes_ago=30)
    form = {"name": "Salesforce", "scopes": ["memberships:read"]}

    asked = client.post(
        "/admin/organizations/biocom/api-keys",
        data=form,
        headers={"Referer": "http://localhost/admin/organizations/biocom/api-keys"},
    )

    assert asked.status_code == 302
    assert urlsplit(asked.location).path == "/account/confirm-factor"
    assert db.session.scalar(select(ApiKey)) is None
    confirmed = client.post(asked.location, data={"kind": "app", "code": totp.now()})
    assert confirmed.location == "/admin/organizations/biocom/api-keys"
    created = client.post("/admin/organizations/biocom/api-keys", data=form)
    assert created.status_code == 201
    assert db.session.scalar(select(ApiKey)).name == "Salesforce"
