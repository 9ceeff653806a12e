"""Members' own steps reach the partners' systems: a membership claimed, a registration made
or cancelled are announced in the transaction of the change (no audit entry: rule 7 keeps the
log for decisions), so they are queued only when it commits, and only for the organizations
they concern (a registration: every organizer of its event)."""

from __future__ import annotations

import secrets

from flask.testing import FlaskClient
from sqlalchemy import select

from portal.accounts import passwords
from portal.accounts import services as accounts
from portal.accounts.consents import STATEMENT_VERSION
from portal.accounts.memberships import add_membership_claim
from portal.accounts.models import LoginSession, Person, Role, RoleGrant
from portal.accounts.sessions import token_hash
from portal.api import webhooks
from portal.api.models import WebhookDelivery, WebhookEndpoint
from portal.audit.models import AuditEntry
from portal.events.models import Registration, RegistrationStatus
from portal.events.setup import cancel_event
from portal.extensions import db
from portal.organizations.models import Organization
from tests.factories import add_member, recorded_statements

HOOKS = "https://crm.example.org/hooks"
PASSPHRASE = "a long enough passphrase 4 hooks"
MEMBER_EVENTS = ["membership.claimed", "registration.created", "registration.cancelled"]


def organization(slug: str) -> Organization:
    found = db.session.scalar(select(Organization).where(Organization.slug == slug))
    assert found is not None
    return found


def admin_of(slug: str) -> Person:
    """A partner admin of ``slug``, who may register its endpoints."""
    person = accounts.create_person_directly(
        f"webhooks-{secrets.token_hex(4)}@{slug}.example.org",
        PASSPHRASE,
        family_name="Officer",
        given_name="Web",
    )
    db.session.add(
        RoleGrant(
            person=person, role=Role.PARTNER_ADMIN.value, organization_id=organization(slug).id
        )
    )
    db.session.commit()
    return person


def endpoint_of(slug: str, event_types: list[str] = MEMBER_EVENTS) -> WebhookEndpoint:
    return webhooks.add_endpoint(
        organization(slug), actor=admin_of(slug), url=HOOKS, event_types=event_types
    )


def sign_in(client: FlaskClient, person: Person) -> None:
    """A session of ``person`` as signing in opens one (rule 15)."""
    secret = secrets.token_urlsafe(16)
    db.session.add(LoginSession(person_id=person.id, token_hash=token_hash(secret)))
    db.session.commit()
    person.login_session_key = secret
    with client.session_transaction() as session:
        session["_user_id"] = person.get_id()
        session["_fresh"] = True


def queued(slug: str | None = None) -> list[tuple[str, str, int]]:
    """(organization, event type, subject id) of each delivery queued, oldest first."""
    db.session.expire_all()
    rows = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    return [
        (d.payload["data"]["organization"], d.event_type, d.payload["data"]["id"])
        for d in rows
        if slug is None or d.payload["data"]["organization"] == slug
    ]


def audited(action: str) -> int:
    return len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all())


def register_through_the_page(client: FlaskClient, world, *consent_to: str):  # noqa: ANN001, ANN201
    """Post the event's form with the consent step's answers (its organizers are abroad)."""
    return client.post(
        f"/events/{world.event.slug}/register",
        data={
            "ticket_type": str(world.event.ticket_types[0].id),
            "consent_to": [str(organization(slug).id) for slug in consent_to],
            "statement_version": str(STATEMENT_VERSION),
        },
    )


def test_a_claim_through_the_page_is_told_to_its_organization_only(client, world) -> None:
    endpoint_of("biocom")
    endpoint_of("one-nucleus")
    member = world.claim.person
    sign_in(client, member)

    answer = client.post(
        "/account/memberships/new",
        data={"organization": organization("biocom").id, "membership_kind": "individual"},
    )

    assert answer.status_code == 302
    [claim] = [m for m in member.memberships if m.organization.slug == "biocom"]
    assert queued() == [("biocom", "membership.claimed", claim.id)]
    assert audited("membership.claim") == 0  # the member's step, not a decision (rule 7)
    delivery = db.session.scalars(select(WebhookDelivery)).one()
    assert delivery.payload["data"] == {
        "organization": "biocom",
        "subject": "membership",
        "id": claim.id,
        "action": "membership.claim",
    }


def test_a_refused_claim_queues_nothing(client, world) -> None:
    endpoint_of("biocom")
    sign_in(client, world.verified.person)  # already a verified BIOCOM member

    answer = client.post(
        "/account/memberships/new",
        data={"organization": organization("biocom").id, "membership_kind": "individual"},
    )

    assert answer.status_code == 400
    assert queued() == []


def test_an_endpoint_that_did_not_choose_the_event_gets_nothing(client, world) -> None:
    endpoint_of("biocom", ["membership.verified"])
    sign_in(client, world.claim.person)

    client.post(
        "/account/memberships/new",
        data={"organization": organization("biocom").id, "membership_kind": "individual"},
    )

    assert queued() == []


def test_a_claim_rolled_back_queues_nothing(world) -> None:
    endpoint_of("biocom")
    member = db.session.get(Person, world.claim.person.id)

    add_membership_claim(member, organization("biocom"))
    pending = [o for o in db.session.new if isinstance(o, WebhookDelivery)]
    db.session.rollback()

    assert [d.event_type for d in pending] == ["membership.claimed"]  # queued with the change
    assert queued() == []  # and gone with it


def test_registering_and_cancelling_through_the_pages_reach_every_organizer(client, world) -> None:
    world.event.cohosts = [organization("one-nucleus")]
    db.session.commit()
    endpoint_of("biocom")
    endpoint_of("one-nucleus")
    endpoint_of("eurobiomed")  # neither hosts nor co-hosts
    member = world.claim.person
    sign_in(client, member)

    registered = register_through_the_page(client, world, "biocom", "one-nucleus")

    assert registered.status_code == 302, registered.get_data(as_text=True)
    registration = db.session.scalars(
        select(Registration).where(Registration.person_id == member.id)
    ).one()
    assert registration.status == RegistrationStatus.CONFIRMED
    assert sorted(queued()) == [
        ("biocom", "registration.created", registration.id),
        ("one-nucleus", "registration.created", registration.id),
    ]

    cancelled = client.post(f"/events/tickets/{registration.id}/cancel")

    assert cancelled.status_code == 302
    assert sorted(q for q in queued() if q[1] == "registration.cancelled") == [
        ("biocom", "registration.cancelled", registration.id),
        ("one-nucleus", "registration.cancelled", registration.id),
    ]
    assert audited("registration.create") == audited("registration.cancel") == 0


def test_who_listens_is_known_afresh_once_an_endpoint_is_added_or_disabled(client, world) -> None:
    """Registrations for organizers without an endpoint look none up (who listens is
    remembered): an endpoint added meanwhile hears of the next registration at once, and one
    disabled meanwhile is told of none."""

    def register_a_new_member() -> tuple[int, list[str]]:
        member, _membership = add_member("link-j")
        sign_in(client, member)
        with recorded_statements() as statements:
            answer = register_through_the_page(client, world, "biocom")
        assert answer.status_code == 302, answer.get_data(as_text=True)
        registration_id = db.session.scalars(
            select(Registration.id).where(Registration.person_id == member.id)
        ).one()
        return registration_id, [s for s in statements if "webhook_endpoint" in s]

    register_a_new_member()
    _unheard, looked_up = register_a_new_member()
    assert looked_up == []  # nobody listens, and that is remembered
    assert queued() == []

    endpoint = endpoint_of("biocom")
    heard, _looked_up = register_a_new_member()
    assert queued() == [("biocom", "registration.created", heard)]

    webhooks.set_enabled(endpoint, actor=admin_of("biocom"), enabled=False)
    register_a_new_member()
    assert queued() == [("biocom", "registration.created", heard)]


def test_an_event_cancelled_tells_of_each_registration_it_ends(world) -> None:
    endpoint_of("biocom")

    cancel_event(world.event, actor=admin_of("biocom"), reason="The venue is closed.")

    assert queued() == [("biocom", "registration.cancelled", world.registration.id)]


def test_a_registrant_leaving_the_portal_tells_of_each_registration_ended(world) -> None:
    endpoint_of("biocom")
    leaving = world.registration.person
    leaving.password_hash = passwords.hash_password(PASSPHRASE)
    db.session.commit()

    accounts.delete_account(leaving, password=PASSPHRASE)

    assert queued() == [("biocom", "registration.cancelled", world.registration.id)]


def test_a_roster_sync_through_the_api_is_told_when_it_finishes(caller, world) -> None:
    endpoint_of("biocom", ["roster.synced"])

    synced = caller("biocom").put(
        "/organizations/biocom/roster", {"records": [{"email": "member@biocom.example"}]}
    )

    assert synced.status_code == 200, synced.json
    [(slug, event_type, _upload)] = queued()
    assert (slug, event_type) == ("biocom", "roster.synced")


def test_the_document_and_the_page_list_every_event(client, world) -> None:
    document = client.get("/api/v1/openapi.json").json
    admin = admin_of("biocom")
    sign_in(client, admin)
    page = client.get(
        "/admin/organizations/biocom/webhooks", headers={"Accept-Language": "ja"}
    ).get_data(as_text=True)

    assert set(document["webhooks"]) == set(webhooks.EVENT_TYPES)
    assert {"membership.claimed", "registration.created", "registration.cancelled"} <= set(
        webhooks.EVENT_TYPES
    )
    body = document["webhooks"]["registration.cancelled"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/WebhookEvent")
    assert "会員資格が申請された" in page and "参加登録が取り消された" in page
    assert "<code>membership.claimed</code>" in page
