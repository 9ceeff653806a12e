"""Claims, events, registrations, check-in, the network and the report through the API,
each within the key's organization (rule 4)."""

from __future__ import annotations

from portal.benefits.models import BenefitClaim
from portal.events.models import Registration
from portal.extensions import db
from tests.factories import audit


def test_claims_on_the_organizations_services_and_decisions(caller, world) -> None:
    biocom = caller("biocom")

    listed = biocom.get("/claims?status=requested").json["items"]
    approved = biocom.post(f"/claims/{world.claim.id}/approve", {"note": "Welcome"})
    fulfilled = biocom.post(f"/claims/{world.claim.id}/fulfil", {})

    assert [c["id"] for c in listed] == [world.claim.id]
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    assert fulfilled.json["status"] == "fulfilled"
    assert [e.action for e in audit() if e.action.startswith("benefit_claim")] == [
        "benefit_claim.approve",
        "benefit_claim.fulfil",
    ]


def test_another_organizations_claims_are_404_and_deciding_needs_the_scope(caller, world) -> None:
    other = caller("one-nucleus")
    reader = caller("biocom", scopes=["claims:read"])

    assert other.get("/claims").json["items"] == []
    assert other.get(f"/claims/{world.claim.id}").status_code == 404
    assert other.post(f"/claims/{world.claim.id}/reject", {"reason": "x"}).status_code == 404
    assert reader.post(f"/claims/{world.claim.id}/reject", {"reason": "x"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(BenefitClaim, world.claim.id).status == "requested"


def test_events_registrations_and_check_in(caller, world) -> None:
    biocom = caller("biocom")

    events = biocom.get("/events").json["items"]
    registrations = biocom.get(f"/events/{world.event.slug}/registrations").json["items"]
    checked = biocom.post(f"/events/{world.event.slug}/check-in", {"code": "ticket0001"})
    again = biocom.post(f"/events/{world.event.slug}/check-in", {"code": "TICKET0001"})

    assert [e["slug"] for e in events] == [world.event.slug]
    assert [r["code"] for r in registrations] == ["TICKET0001"]
    assert checked.status_code == 200 and checked.json["status"] == "checked_in"
    assert again.status_code == 409 and "Already checked in" in again.json["detail"]
    assert len(audit("registration.check_in")) == 1


def test_another_organizations_event_is_404(caller, world) -> None:
    other = caller("one-nucleus")

    assert other.get("/events").json["items"] == []
    assert other.get(f"/events/{world.event.slug}/registrations").status_code == 404
    assert (
        other.post(f"/events/{world.event.slug}/check-in", {"code": "TICKET0001"}).status_code
        == 404
    )
    no_scope = caller("biocom", scopes=["registrations:read"])
    assert no_scope.post(f"/events/{world.event.slug}/check-in", {"code": "x"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Registration, world.registration.id).status == "confirmed"


def test_network_reads_and_the_report_of_the_own_mou(caller, world) -> None:
    biocom = caller("biocom")

    organizations = biocom.get("/organizations").json["items"]
    mous = biocom.get("/mous").json["items"]
    services = biocom.get("/services").json["items"]
    report = biocom.get("/mous/link-j-biocom-2016/report?period=year")
    other_mou = biocom.get("/mous/link-j-one-nucleus-2017")

    assert {"link-j", "biocom", "one-nucleus"} <= {o["slug"] for o in organizations}
    assert [m["slug"] for m in mous] == ["link-j-biocom-2016"]
    assert world.service.id in {s["id"] for s in services}
    assert report.status_code == 200
    requested = sum(
        p["counts"]["requested"] for d in report.json["directions"] for p in d["periods"]
    )
    assert requested == 1
    assert other_mou.status_code == 404
    assert biocom.get(f"/services/{world.service.id}").status_code == 200
