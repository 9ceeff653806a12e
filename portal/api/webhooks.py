"""Outgoing webhooks: a partner's system is told when its organization's records change.

Events are queued in the same transaction as the change (like mail, rule 8): the audit log's
``record`` tells its listeners of each entry it adds, and ``announce`` of what members do that
is no decision to audit (a claim, a registration, a cancellation; ``portal.audit.services``);
the entries and announcements that name an event an endpoint chose become deliveries. A
delivery is signed the Standard Webhooks way and carries ids, not personal data; the receiver
reads the record through the API. The worker (``portal api webhooks``) retries with
exponential backoff for about three days; an endpoint whose deliveries all failed for that
long is disabled and its owner told by mail.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from portal import versions
from portal.accounts.models import Person
from portal.api.keys import may_hold_keys
from portal.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from portal.audit.models import AuditEntry
from portal.audit.services import Announcement, record
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.events.models import Event
from portal.extensions import db
from portal.language import gettext as _
from portal.notifications.services import mail_person
from portal.organizations.models import Organization

#: Audit actions (and announcements) and the event each one is to a partner's system.
EVENT_OF_ACTION = {
    "membership.claim": "membership.claimed",
    "membership.verify": "membership.verified",
    "membership.reject": "membership.rejected",
    "membership.revoke": "membership.revoked",
    "benefit_claim.request": "claim.requested",
    "benefit_claim.approve": "claim.decided",
    "benefit_claim.reject": "claim.decided",
    "benefit_claim.fulfil": "claim.fulfilled",
    "registration.create": "registration.created",
    "registration.cancel": "registration.cancelled",
    "registration.check_in": "registration.checked_in",
    "roster.import": "roster.synced",
}
EVENT_TYPES = tuple(dict.fromkeys(EVENT_OF_ACTION.values()))

#: Waits before each retry (Standard Webhooks' schedule, stretched to about three days).
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
#: How long a worker holds a delivery it is sending.
LEASE = timedelta(minutes=2)
#: How long the secret before a rotation keeps signing, for receivers to switch over.
ROTATION_OVERLAP = timedelta(hours=24)
TIMEOUT_SECONDS = 10


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _require_holder(actor: Person, organization: Organization) -> None:
    if not may_hold_keys(actor, organization):
        raise NotFound(_("Not found."))


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost") and current_app.config.get(
        "WEBHOOKS_ALLOW_LOOPBACK", False
    )
    if not parts.hostname or not (parts.scheme == "https" or (loopback and parts.scheme == "http")):
        raise InvalidInput(_("Give an https:// address."), field="url")
    if len(url) > WebhookEndpoint.__table__.c.url.type.length:
        raise InvalidInput(_("The address is too long."), field="url")
    return url


def add_endpoint(
    organization: Organization, *, actor: Person, url: str, event_types: list[str]
) -> WebhookEndpoint:
    _require_holder(actor, organization)
    chosen = [t for t in EVENT_TYPES if t in set(event_types)]
    if not chosen or len(chosen) != len(set(event_types)):
        raise InvalidInput(_("Choose at least one event."), field="event_types")
    endpoint = WebhookEndpoint(
        organization_id=organization.id,
        created_by_id=actor.id,
        url=_check_url(url),
        event_types=chosen,
        secret=new_secret(),
    )
    db.session.add(endpoint)
    db.session.flush()
    record(
        "webhook.add",
        actor=actor,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        organization_id=organization.id,
        events=chosen,
    )
    db.session.commit()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, *, actor: Person) -> None:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP."""
    _require_holder(actor, endpoint.organization)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = utcnow() + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    record(
        "webhook.rotate",
        actor=actor,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        organization_id=endpoint.organization_id,
    )
    db.session.commit()


def set_enabled(endpoint: WebhookEndpoint, *, actor: Person, enabled: bool) -> None:
    _require_holder(actor, endpoint.organization)
    endpoint.disabled_at = None if enabled else utcnow()
    record(
        "webhook.enable" if enabled else "webhook.disable",
        actor=actor,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        organization_id=endpoint.organization_id,
    )
    db.session.commit()


def send_again(delivery: WebhookDelivery, *, actor: Person) -> None:
    """Queue a delivery once more, now, with its original id (receivers drop repeats)."""
    _require_holder(actor, delivery.endpoint.organization)
    if delivery.endpoint.disabled_at is not None:
        raise InvalidTransition(_("Enable the endpoint first."))
    delivery.status = DeliveryStatus.PENDING.value
    delivery.next_attempt_at = utcnow()
    delivery.leased_until = None
    db.session.commit()


# --- queueing, in the transaction of the change ----------------------------------------------


def _organizations_told(entry: AuditEntry | Announcement) -> set[int]:
    """Who hears of an entry: its organization; for a registration, every organizer of its
    event (the host and each co-host, whose keys read its registrations)."""
    assert entry.organization_id is not None
    event_id = (entry.details or {}).get("event") if entry.subject_type == "registration" else None
    event = db.session.get(Event, event_id) if event_id is not None else None
    return event.organizer_ids if event is not None else {entry.organization_id}


#: Most changes concern organizations without an endpoint (a registration, at every press
#: of Register): knowing who listens spares them the look-up of endpoints.
_LISTENING: versions.FactMemo[frozenset[int]] = versions.FactMemo(tables=("webhook_endpoint",))


def _listening_organizations(session: Session) -> frozenset[int]:
    """The organizations with an endpoint that is not disabled."""
    return frozenset(
        session.scalars(
            select(WebhookEndpoint.organization_id)
            .where(WebhookEndpoint.disabled_at.is_(None))
            .distinct()
        )
    )


def queue_for_entry(entry: AuditEntry | Announcement) -> None:
    """The audit log's listener: deliveries for the endpoints that chose this event."""
    event_type = EVENT_OF_ACTION.get(entry.action)
    if event_type is None or entry.organization_id is None:
        return
    told = _organizations_told(entry)
    # No autoflush: the change is flushed with its commit, not once per audit entry.
    with db.session.no_autoflush:
        if told.isdisjoint(_LISTENING.get(_listening_organizations)):
            return
        endpoints = db.session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.organization_id.in_(told),
                WebhookEndpoint.disabled_at.is_(None),
            )
        ).all()
    now = utcnow()
    for endpoint in endpoints:
        if event_type not in endpoint.event_types:
            continue
        message_id = "msg_" + secrets.token_urlsafe(18)
        db.session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                message_id=message_id,
                event_type=event_type,
                payload={
                    "type": event_type,
                    "timestamp": now.isoformat(),
                    "data": {
                        "organization": endpoint.organization.slug,
                        "subject": entry.subject_type,
                        "id": entry.subject_id,
                        "action": entry.action,
                    },
                },
                next_attempt_at=now,
            )
        )


# --- the worker ---------------------------------------------------------------------------


def signature_headers(endpoint: WebhookEndpoint, message_id: str, body: str, at: datetime) -> dict:
    """webhook-id, webhook-timestamp, webhook-signature (one ``v1,…`` per live secret)."""
    secrets_ = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and at < (endpoint.previous_secret_until)
    ):
        secrets_.append(endpoint.previous_secret)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(
            Webhook(secret).sign(message_id, at, body) for secret in secrets_
        ),
    }


Transport = Callable[[str, bytes, dict[str, str]], int]


def http_transport(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(  # noqa: S310 - https (or loopback when allowed) only
        url, data=body, headers={**headers, "Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def _take(delivery_id: int, now: datetime) -> bool:
    """Lease one due delivery: a conditional UPDATE, so two workers never send one twice."""
    taken = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
        )
        .values(leased_until=now + LEASE)
    )
    db.session.commit()
    return taken.rowcount == 1  # type: ignore[attr-defined]


def deliver_due(
    transport: Transport = http_transport, *, now: datetime | None = None, limit: int = 100
) -> DeliveryReport:
    """Send the deliveries that are due, each leased by this worker while it sends."""
    now = now or utcnow()
    report = DeliveryReport()
    due = db.session.scalars(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    for delivery_id in due:
        if not _take(delivery_id, now):
            continue
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        _attempt(delivery, transport, now, report)
    return report


def _attempt(
    delivery: WebhookDelivery, transport: Transport, now: datetime, report: DeliveryReport
) -> None:
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    try:
        code: int | None = transport(
            endpoint.url, body.encode(), signature_headers(endpoint, delivery.message_id, body, now)
        )
        error = "" if code is not None and 200 <= code < 300 else f"HTTP {code}"
    except (OSError, ValueError) as failure:
        code, error = None, str(failure)[:500]
    delivery.attempts += 1
    delivery.last_status_code = code
    delivery.last_error = error
    delivery.leased_until = None
    if not error:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        report.delivered += 1
    elif delivery.attempts <= len(RETRY_DELAYS):
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
        report.retried += 1
    else:
        delivery.status = DeliveryStatus.FAILED.value
        delivery.next_attempt_at = None
        report.failed += 1
        _disable_if_failing(endpoint, now)
    db.session.commit()


def _disable_if_failing(endpoint: WebhookEndpoint, now: datetime) -> None:
    """An endpoint none of whose deliveries got through since its last success, and whose
    last delivery just ran out of retries, is disabled; its owner is told (rule 8)."""
    delivered_since = db.session.scalar(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.DELIVERED.value,
            WebhookDelivery.delivered_at > now - sum(RETRY_DELAYS, timedelta()),
        )
        .limit(1)
    )
    if delivered_since is not None or endpoint.disabled_at is not None:
        return
    endpoint.disabled_at = now
    record(
        "webhook.disable",
        actor=None,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        organization_id=endpoint.organization_id,
        reason="failing",
    )
    mail_person(
        endpoint.created_by,
        "api/webhook_disabled",
        endpoint=endpoint,
        organization=endpoint.organization,
    )
