"""Roster sync through the API: the answer says who was verified, what is new, what dropped
off and who is flagged; the same roster again changes nothing; 20,000 rows run as a job."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import func, select

from portal.accounts.models import Membership, MembershipStatus, Person, RosterUpload
from portal.api.jobs import run_jobs
from portal.audit.models import AuditEntry
from portal.db import utcnow
from portal.extensions import db
from tests.factories import add_membership, add_person, org

VALID = (date.today().replace(year=date.today().year + 1)).isoformat()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def decisions() -> int:
    return count(AuditEntry, AuditEntry.action != "api.call")


def test_sync_reports_verified_new_dropped_and_flagged(caller) -> None:
    biocom = caller("biocom", scopes=["roster:write"])
    stays = add_membership(add_person("stays@biocom.example"), "biocom", status="verified")
    leaves = add_membership(add_person("leaves@biocom.example"), "biocom", status="verified")
    waiting = add_membership(add_person("new@biocom.example"), "biocom")
    stranger = add_membership(add_person("stranger@biocom.example"), "biocom")
    first = biocom.put(
        "/organizations/biocom/roster",
        {"records": [{"email": "stays@biocom.example"}, {"email": "leaves@biocom.example"}]},
    )
    assert first.status_code == 200, first.json

    second = biocom.put(
        "/organizations/biocom/roster",
        {
            "records": [
                {"email": "Stays@biocom.example", "valid_until": VALID},
                {"email": "new@biocom.example"},
                {"member_number": "B-77"},
            ]
        },
    )

    report = second.json
    assert second.status_code == 200, report
    assert report["verified"] == [waiting.id]
    assert report["flagged"] == [leaves.id]
    # Rows are told apart by member number and address: the new validity of stays' row is
    # neither new nor dropped.
    assert (report["rows"], report["new"], report["dropped"], report["unchanged"]) == (
        3,
        2,
        1,
        False,
    )
    db.session.expire_all()
    assert db.session.get(Membership, stranger.id).status == "pending"
    assert db.session.get(Membership, stays.id).missing_from_roster_since is None


def test_the_same_roster_again_changes_nothing(caller) -> None:
    biocom = caller("biocom", scopes=["roster:write"])
    add_membership(add_person("gone@biocom.example"), "biocom", status="verified")
    roster = {"records": [{"email": "a@biocom.example"}, {"member_number": "B-1"}]}
    biocom.put("/organizations/biocom/roster", roster)
    uploads, written = count(RosterUpload), decisions()

    again = biocom.put("/organizations/biocom/roster", roster)

    assert again.status_code == 200
    assert again.json == {
        "rows": 2,
        "unchanged": True,
        "verified": [],
        "new": 0,
        "dropped": 0,
        "flagged": [],
        "unflagged": [],
    }
    assert (count(RosterUpload), decisions()) == (uploads, written)


def test_a_bad_record_changes_nothing(caller) -> None:
    biocom = caller("biocom", scopes=["roster:write"])
    waiting = add_membership(add_person("w@biocom.example"), "biocom")

    response = biocom.put(
        "/organizations/biocom/roster",
        {"records": [{"email": "w@biocom.example"}, {"email": "not an address"}, {}]},
    )

    assert response.status_code == 422
    assert "Line 2" in response.json["detail"] and "Line 3" in response.json["detail"]
    assert count(RosterUpload) == 0
    db.session.expire_all()
    assert db.session.get(Membership, waiting.id).status == "pending"


def test_another_organizations_roster_is_404_and_scope_is_needed(caller) -> None:
    roster = {"records": [{"email": "a@biocom.example"}]}

    assert caller("one-nucleus").put("/organizations/biocom/roster", roster).status_code == 404
    reader = caller("biocom", scopes=["memberships:read"])
    assert reader.put("/organizations/biocom/roster", roster).status_code == 403
    assert count(RosterUpload) == 0


ROWS = 20_000


def _people(count_: int, prefix: str, status: str) -> list[int]:
    """Many people with a BIOCOM membership, written in bulk (the factories commit each)."""
    now = utcnow()
    db.session.execute(
        Person.__table__.insert(),
        [
            {
                "email": f"{prefix}{i}@biocom.example",
                "email_normalized": f"{prefix}{i}@biocom.example",
                "email_confirmed_at": now,
                "family_name": "",
                "given_name": "",
                "family_name_kana": "",
                "given_name_kana": "",
                "romanized_name": "",
                "affiliation": "",
                "session_version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count_)
        ],
    )
    ids = db.session.scalars(
        select(Person.id).where(Person.email_normalized.like(f"{prefix}%@biocom.example"))
    ).all()
    db.session.execute(
        Membership.__table__.insert(),
        [
            {
                "person_id": person_id,
                "organization_id": org("biocom").id,
                "kind": "individual",
                "status": status,
                "valid_until": date(2099, 3, 31) if status == "verified" else None,
                "decision_reason": "",
                "created_at": now,
                "updated_at": now,
            }
            for person_id in ids
        ],
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(Membership.id)
            .join(Person, Person.id == Membership.person_id)
            .where(Person.email_normalized.like(f"{prefix}%@biocom.example"))
            .order_by(Membership.id)
        )
    )


def test_a_roster_of_20000_rows_runs_as_a_job_with_the_right_report(caller, capsys) -> None:
    biocom = caller("biocom", scopes=["roster:write"])
    waiting = _people(300, "waiting", MembershipStatus.PENDING.value)
    listed = _people(1000, "member", MembershipStatus.VERIFIED.value)
    unlisted = _people(200, "former", MembershipStatus.VERIFIED.value)
    records = [{"email": f"member{i}@biocom.example"} for i in range(1000)]
    records += [{"email": f"waiting{i}@biocom.example"} for i in range(300)]
    records += [{"member_number": f"B-{i:05d}", "valid_until": VALID} for i in range(ROWS - 1300)]
    assert len(records) == ROWS

    queued = biocom.put("/organizations/biocom/roster", {"records": records})
    assert queued.status_code == 202, queued.json
    status_url = queued.headers["Location"]
    assert biocom.client.get(status_url, headers=biocom.headers(None)).json["status"] == "queued"
    started = time.perf_counter()
    assert run_jobs() == 1
    took = time.perf_counter() - started

    done = biocom.client.get(status_url, headers=biocom.headers(None)).json
    assert done["status"] == "done", done
    report = done["result"]
    assert sorted(report["verified"]) == waiting
    assert sorted(report["flagged"]) == unlisted
    assert (report["rows"], report["new"], report["dropped"]) == (ROWS, ROWS, 0)
    assert set(listed).isdisjoint(report["flagged"])
    with capsys.disabled():
        print(f"\n20,000-row roster sync: {took:.1f} s in the job worker")

    again = biocom.put("/organizations/biocom/roster", {"records": records})
    assert run_jobs() == 1
    second = biocom.client.get(again.headers["Location"], headers=biocom.headers(None)).json
    assert second["result"]["unchanged"] is True
    assert (second["result"]["verified"], second["result"]["flagged"]) == ([], [])
    assert count(RosterUpload) == 1


def test_the_jobs_command_does_queued_jobs(app, caller, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "API_ROSTER_SYNC_ROWS", 1)
    biocom = caller("biocom", scopes=["roster:write"])
    queued = biocom.put(
        "/organizations/biocom/roster",
        {"records": [{"email": "a@biocom.example"}, {"email": "b@biocom.example"}]},
    )
    assert queued.status_code == 202

    result = app.test_cli_runner().invoke(args=["api", "jobs"])

    assert result.exit_code == 0, result.output
    assert "roster_sync): done" in result.output
    done = biocom.client.get(queued.headers["Location"], headers=biocom.headers(None)).json
    assert done["result"]["rows"] == 2


def test_an_empty_roster_is_refused_and_flags_nobody(caller) -> None:
    """A partner's system sending no records at all is refused, as an uploaded file with no
    members is: it would otherwise mark every verified member as gone from the roster."""
    biocom = caller("biocom", scopes=["roster:write"])
    member = add_membership(add_person("m@biocom.example"), "biocom", status="verified")
    biocom.put("/organizations/biocom/roster", {"records": [{"email": "m@biocom.example"}]})
    uploads, written = count(RosterUpload), decisions()

    response = biocom.put("/organizations/biocom/roster", {"records": []})

    assert response.status_code == 422, response.json
    assert "no members" in response.json["detail"]
    assert (count(RosterUpload), decisions()) == (uploads, written)
    db.session.expire_all()
    assert db.session.get(Membership, member.id).missing_from_roster_since is None
