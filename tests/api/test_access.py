"""Who may do what through the API: keys per organization and scope (rule 4, rule 18)."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import MembershipStatus, Role, RoleGrant
from portal.api.keys import revoke_key
from portal.api.models import ApiKey
from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.api.callers import key_for
from tests.factories import audit


def test_no_key_is_401_problem(client, network) -> None:
    response = client.get("/api/v1/mous")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_key_is_401(client, network) -> None:
    response = client.get("/api/v1/mous", headers={"Authorization": "Bearer lkj_forged"})

    assert response.status_code == 401


def test_one_nucleus_key_gets_404_for_biocoms_memberships(caller, pending) -> None:
    membership = pending("biocom")
    one_nucleus = caller("one-nucleus")

    listing = one_nucleus.get("/organizations/biocom/memberships")
    single = one_nucleus.get(f"/memberships/{membership.id}")
    verify = one_nucleus.post(f"/memberships/{membership.id}/verify")

    assert [listing.status_code, single.status_code, verify.status_code] == [404, 404, 404]
    assert single.mimetype == "application/problem+json"
    assert db.session.get(type(membership), membership.id).status == "pending"


def test_a_read_only_key_cannot_verify(caller, pending) -> None:
    membership = pending("biocom")
    reader = caller("biocom", scopes=["memberships:read"])

    assert reader.get(f"/memberships/{membership.id}").status_code == 200
    refused = reader.post(f"/memberships/{membership.id}/verify")

    assert refused.status_code == 403
    assert "memberships:decide" in refused.json["detail"]
    db.session.expire_all()
    assert db.session.get(type(membership), membership.id).status == "pending"


def test_verify_through_the_api_is_the_services_decision(caller, pending) -> None:
    membership = pending("biocom")
    biocom = caller("biocom")

    response = biocom.post(f"/memberships/{membership.id}/verify", {"note": "CRM says so"})

    assert response.status_code == 200, response.json
    assert response.json["status"] == "verified"
    [decision] = audit("membership.verify")
    assert decision.reason == "CRM says so"
    assert audit("api.call")[-1].details["path"].endswith("/verify")


def test_reject_needs_a_reason_and_changes_nothing_without_one(caller, pending) -> None:
    membership = pending("biocom")
    biocom = caller("biocom")

    refused = biocom.post(f"/memberships/{membership.id}/reject", {"reason": ""})
    second = biocom.post(f"/memberships/{membership.id}/verify", {"colour": "blue"})

    assert refused.status_code == 422
    assert refused.json["errors"][0]["loc"][-1] == "reason"
    assert second.status_code == 422
    db.session.expire_all()
    assert db.session.get(type(membership), membership.id).status == "pending"


def test_revoking_a_pending_membership_is_a_409_conflict(caller, pending) -> None:
    membership = pending("biocom")

    response = caller("biocom").post(f"/memberships/{membership.id}/revoke", {"reason": "Left"})

    assert response.status_code == 409
    assert response.json["detail"] == "Only verified memberships can be revoked."


def test_problems_speak_the_callers_language(caller, pending) -> None:
    membership = pending("biocom")
    biocom = caller("biocom")
    biocom.language = "ja"

    response = biocom.post(f"/memberships/{membership.id}/revoke", {"reason": "退会"})

    assert response.status_code == 409
    assert response.json["detail"] == "取り消しできるのは確認済みの会員資格のみです。"
    assert response.json["title"] != "The record is not in a state that allows this"


def test_a_revoked_key_stops_working(caller, biocom_admin) -> None:
    secret = key_for(biocom_admin, "biocom")
    key = db.session.scalar(select(ApiKey))

    revoke_key(key, actor=biocom_admin)

    response = caller().client.get("/api/v1/mous", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_a_key_stops_when_its_creator_stops_administering(client, biocom_admin) -> None:
    secret = key_for(biocom_admin, "biocom")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/mous", headers=headers).status_code == 200

    db.session.execute(
        RoleGrant.__table__.delete().where(RoleGrant.role == Role.PARTNER_ADMIN.value)
    )
    db.session.commit()

    assert client.get("/api/v1/mous", headers=headers).status_code == 401


def test_the_secret_is_stored_only_as_a_hash(biocom_admin) -> None:
    secret = key_for(biocom_admin, "biocom")

    key = db.session.scalar(select(ApiKey))
    assert secret not in (key.secret_hash, key.prefix)
    assert key.secret_hash not in secret
    assert secret.startswith(key.prefix)


def test_every_call_is_audited_with_its_key(caller) -> None:
    biocom = caller("biocom")

    biocom.get("/mous")
    biocom.get("/organizations/biocom/memberships?status=nonsense")

    calls = [e for e in db.session.scalars(select(AuditEntry)) if e.action == "api.call"]
    assert [(c.details["method"], c.details["status"]) for c in calls] == [
        ("GET", 200),
        ("GET", 422),
    ]
    key = db.session.scalar(select(ApiKey))
    assert {c.subject_id for c in calls} == {key.id}
    assert key.last_used_at is not None


def test_list_filters_and_cursor_pages(caller, pending) -> None:
    ids = [pending("biocom").id for _ in range(5)]
    pending("one-nucleus")
    biocom = caller("biocom")

    first = biocom.get("/organizations/biocom/memberships?limit=2").json
    second = biocom.get(f"/organizations/biocom/memberships?limit=2&cursor={first['next_cursor']}")
    third = biocom.get(
        f"/organizations/biocom/memberships?limit=2&cursor={second.json['next_cursor']}"
    ).json

    seen = [m["id"] for page in (first, second.json, third) for m in page["items"]]
    assert seen == ids
    assert third["next_cursor"] is None
    assert biocom.get("/organizations/biocom/memberships?status=verified").json["items"] == []
    bad = biocom.get("/organizations/biocom/memberships?cursor=-1")
    assert bad.status_code == 422


def test_staff_key_for_link_j_sees_link_j_not_partners(client, network, pending) -> None:
    from tests.factories import add_person, add_role

    staff = add_role(add_person("staff@link-j.org"), Role.STAFF)
    secret = key_for(staff, "link-j")
    link_j_member = pending("link-j")
    headers = {"Authorization": f"Bearer {secret}"}

    own = client.get("/api/v1/organizations/link-j/memberships", headers=headers)
    other = client.get("/api/v1/organizations/biocom/memberships", headers=headers)

    assert [m["id"] for m in own.json["items"]] == [link_j_member.id]
    assert other.status_code == 404
    assert own.json["items"][0]["status"] == MembershipStatus.PENDING
