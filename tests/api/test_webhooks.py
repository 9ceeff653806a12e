"""Outgoing webhooks: queued with the change, signed per Standard Webhooks, retried with
backoff, never sent twice by two workers, disabled with a mail after persistent failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.api import webhooks
from portal.api.models import WebhookDelivery, WebhookEndpoint
from portal.db import utcnow
from portal.extensions import db
from tests.api.callers import admin_of
from tests.factories import org, outbox
from tests.roles import login


class Receiver:
    """An HTTP server on loopback that answers with the next of ``codes`` (then 200)."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.received: list[tuple[dict[str, str], str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.codes.pop(0) if receiver.codes else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"


@pytest.fixture
def receiver(app) -> Iterator[Receiver]:
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = True
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    app.config["WEBHOOKS_ALLOW_LOOPBACK"] = False


@pytest.fixture
def endpoint(network, receiver) -> WebhookEndpoint:
    return webhooks.add_endpoint(
        org("biocom"),
        actor=admin_of("biocom"),
        url=receiver.url,
        event_types=["membership.verified", "membership.revoked"],
    )


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_verification_is_delivered_signed(caller, pending, endpoint, receiver) -> None:
    membership = pending("biocom")
    caller("biocom").post(f"/memberships/{membership.id}/verify")

    [queued] = deliveries()
    assert queued.event_type == "membership.verified" and queued.status == "pending"
    report = webhooks.deliver_due()

    assert report.delivered == 1
    [(headers, body)] = receiver.received
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert payload["data"] == {
        "organization": "biocom",
        "subject": "membership",
        "id": membership.id,
        "action": "membership.verify",
    }
    assert headers["webhook-id"] == queued.message_id
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(body, headers)
    [sent] = deliveries()
    assert (sent.status, sent.last_status_code, sent.attempts) == ("delivered", 200, 1)


def test_a_refused_change_queues_nothing(caller, pending, endpoint) -> None:
    membership = pending("biocom")

    caller("biocom").post(f"/memberships/{membership.id}/revoke", {"reason": "Left"})

    assert deliveries() == []


def test_events_not_chosen_and_other_organizations_queue_nothing(caller, pending, endpoint):
    membership = pending("biocom")
    caller("biocom").post(f"/memberships/{membership.id}/reject", {"reason": "Unknown"})
    other = pending("one-nucleus")
    caller("one-nucleus").post(f"/memberships/{other.id}/verify")

    assert deliveries() == []


def test_a_receiver_failing_three_times_gets_it_on_the_fourth_try(
    caller, pending, endpoint, receiver
) -> None:
    receiver.codes = [500, 500, 500]
    caller("biocom").post(f"/memberships/{pending('biocom').id}/verify")
    now = utcnow()

    for delay in (timedelta(0), *webhooks.RETRY_DELAYS[:3]):
        now += delay
        webhooks.deliver_due(now=now)

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 4, 200)
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1
    assert len(receiver.received) == 4
    # Before its time, a retry is not sent.
    assert webhooks.deliver_due(now=now + timedelta(days=1)).delivered == 0


def test_two_workers_never_send_one_delivery_twice(caller, pending, endpoint, receiver) -> None:
    caller("biocom").post(f"/memberships/{pending('biocom').id}/verify")
    [delivery] = deliveries()
    now = utcnow()

    assert webhooks._take(delivery.id, now)  # worker A holds it while sending
    assert webhooks.deliver_due(now=now).delivered == 0  # worker B finds nothing to send
    assert not webhooks._take(delivery.id, now)
    assert receiver.received == []
    # Worker A died: once its lease ends, the delivery goes.
    assert webhooks.deliver_due(now=now + webhooks.LEASE * 2).delivered == 1


def test_persistent_failure_disables_the_endpoint_and_mails_its_owner(
    caller, pending, endpoint, receiver
) -> None:
    receiver.codes = [503] * 20
    caller("biocom").post(f"/memberships/{pending('biocom').id}/verify")
    now = utcnow()

    for delay in (timedelta(0), *webhooks.RETRY_DELAYS):
        now += delay
        webhooks.deliver_due(now=now)

    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("failed", len(webhooks.RETRY_DELAYS) + 1)
    assert timedelta(days=3) < sum(webhooks.RETRY_DELAYS, timedelta()) < timedelta(days=4)
    assert db.session.get(WebhookEndpoint, endpoint.id).disabled_at is not None
    [mail] = outbox("api/webhook_disabled")
    assert mail.to_address == endpoint.created_by.email
    assert endpoint.url in mail.body_text
    # Nothing more is queued for a disabled endpoint.
    caller("biocom").post(f"/memberships/{pending('biocom').id}/verify")
    assert len(deliveries()) == 1


def test_a_rotated_secret_and_the_previous_one_both_sign(caller, pending, endpoint, receiver):
    old = endpoint.secret
    webhooks.rotate_secret(endpoint, actor=endpoint.created_by)
    caller("biocom").post(f"/memberships/{pending('biocom').id}/verify")

    webhooks.deliver_due()

    [(headers, body)] = receiver.received
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(old).verify(body, headers)
    Webhook(db.session.get(WebhookEndpoint, endpoint.id).secret).verify(body, headers)


def test_the_page_registers_and_sends_again(client, network, receiver) -> None:
    officer = admin_of("biocom")
    login(client, officer)

    added = client.post(
        "/admin/organizations/biocom/webhooks",
        data={"url": receiver.url, "event_types": ["roster.synced"]},
    )
    refused = client.post(
        "/admin/organizations/biocom/webhooks",
        data={"url": "ftp://example.org", "event_types": ["roster.synced"]},
    )

    assert added.status_code == 302
    assert refused.status_code == 400
    [endpoint] = db.session.scalars(select(WebhookEndpoint)).all()
    page = client.get("/admin/organizations/biocom/webhooks")
    assert endpoint.secret in page.text
    client.post(f"/admin/webhooks/{endpoint.id}/disable")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).disabled_at is not None
    client.post(f"/admin/webhooks/{endpoint.id}/enable")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).disabled_at is None
    login(client, admin_of("one-nucleus"))
    assert client.get("/admin/organizations/biocom/webhooks").status_code == 404
    assert client.post(f"/admin/webhooks/{endpoint.id}/rotate").status_code == 404


def test_send_again_from_the_log(client, caller, pending, endpoint, receiver) -> None:
    caller("biocom").post(f"/memberships/{pending('biocom').id}/verify")
    webhooks.deliver_due()
    [delivery] = deliveries()
    login(client, endpoint.created_by)

    client.post(f"/admin/webhook-deliveries/{delivery.id}/send-again")
    webhooks.deliver_due()

    assert len(receiver.received) == 2
    assert json.loads(receiver.received[0][1]) == json.loads(receiver.received[1][1])


def test_two_worker_threads_on_postgresql_send_each_delivery_once(
    app, postgres_only, caller, pending, endpoint, receiver
) -> None:
    biocom = caller("biocom")
    for _ in range(20):
        biocom.post(f"/memberships/{pending('biocom').id}/verify")
    assert len(deliveries()) == 20
    db.session.remove()

    def worker() -> None:
        with app.app_context():
            webhooks.deliver_due()
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 20
    assert {d.status for d in deliveries()} == {"delivered"}
