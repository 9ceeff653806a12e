"""The API's conventions: problem+json, Idempotency-Key, ETag, per-key rate limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.factories import audit


def test_an_unknown_address_under_the_api_is_a_problem(caller) -> None:
    response = caller("biocom").get("/nothing/here")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/not-found")


def test_a_wrong_method_is_a_405_problem(caller) -> None:
    response = caller("biocom").client.delete("/api/v1/mous")

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_a_body_that_is_not_json_is_a_problem(caller, pending) -> None:
    membership = pending("biocom")
    biocom = caller("biocom")

    response = biocom.client.post(
        f"/api/v1/memberships/{membership.id}/reject",
        data="{not json",
        content_type="application/json",
        headers=biocom.headers(None),
    )

    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_a_retried_post_with_the_same_idempotency_key_acts_once(caller, pending) -> None:
    membership = pending("biocom")
    biocom = caller("biocom")
    headers = {"Idempotency-Key": "verify-42"}

    first = biocom.post(f"/memberships/{membership.id}/verify", {}, headers)
    second = biocom.post(f"/memberships/{membership.id}/verify", {}, headers)

    assert first.status_code == second.status_code == 200
    assert second.json == first.json
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(audit("membership.verify")) == 1
    # Without the key, the second request is a new one: refused, the membership is verified.
    assert biocom.post(f"/memberships/{membership.id}/verify").status_code == 409


def test_an_idempotency_key_reused_with_another_body_is_refused(caller, pending) -> None:
    membership = pending("biocom")
    biocom = caller("biocom")
    headers = {"Idempotency-Key": "k1"}
    biocom.post(f"/memberships/{membership.id}/reject", {"reason": "Unknown"}, headers)

    other = biocom.post(f"/memberships/{membership.id}/reject", {"reason": "Other"}, headers)

    assert other.status_code == 422
    assert other.json["type"].endswith("/idempotency-mismatch")


def test_idempotency_keys_are_per_api_key(caller, pending) -> None:
    membership = pending("biocom")
    headers = {"Idempotency-Key": "same"}
    caller("biocom").post(f"/memberships/{membership.id}/verify", {}, headers)

    other_key = caller("biocom").post(f"/memberships/{membership.id}/verify", {}, headers)

    assert other_key.status_code == 409  # acted on, not replayed from the first key's answer


def test_reads_carry_an_etag_and_answer_304_when_unchanged(caller, pending) -> None:
    pending("biocom")
    biocom = caller("biocom")

    first = biocom.get("/organizations/biocom/memberships")
    etag = first.headers["ETag"]
    again = biocom.get("/organizations/biocom/memberships", {"If-None-Match": etag})
    pending("biocom")
    changed = biocom.get("/organizations/biocom/memberships", {"If-None-Match": etag})

    assert again.status_code == 304 and again.data == b""
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_rate_limit_headers_and_429_per_key(app, caller) -> None:
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        biocom, other = caller("biocom"), caller("one-nucleus")
        answers = [biocom.get("/mous") for _ in range(4)]
        others = other.get("/mous")
    finally:
        app.config["API_RATE_LIMIT"] = "600 per minute"

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"per-key";q=3;w=60'
    assert answers[0].headers["RateLimit"].startswith('"per-key";r=2;t=')
    assert answers[3].mimetype == "application/problem+json"
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert others.status_code == 200


@pytest.mark.parametrize("language", ["en", "ja"])
def test_reads_cost_the_same_statements_whatever_the_page(caller, pending, language) -> None:
    from tests.factories import recorded_statements

    biocom = caller("biocom")
    biocom.language = language
    biocom.get("/mous")  # the first use of a key also records when it was last used
    for _ in range(3):
        pending("biocom")
    with recorded_statements() as few:
        biocom.get("/organizations/biocom/memberships")
    for _ in range(20):
        pending("biocom")
    with recorded_statements() as many:
        biocom.get("/organizations/biocom/memberships")

    assert len(many) == len(few) <= 5
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "api.call")
        )
        == 3
    )
