"""Paying with localstripe (a real Stripe-compatible server), and Stripe's outages."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from flask import Flask

from portal.extensions import db
from portal.payments.models import Payment

SERVER = Path(__file__).with_name("localstripe_server.py")
SECRET_KEY = "sk_test_portal"
PUBLISHABLE_KEY = "pk_test_portal"
WEBHOOK_SECRET = "whsec_portal_test"

VISA = "4242424242424242"
DECLINED = "4000000000000341"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post_json(url: str, data: dict[str, Any] | None = None, method: str = "POST") -> None:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def wait_for_status(payment: Payment, *statuses: str, timeout: float = 10.0) -> str:
    """Wait for the webhook (delivered about a second after the action) to move a payment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.refresh(payment)
        if payment.status in statuses:
            return payment.status
        time.sleep(0.1)
    return payment.status


def signed(
    payload: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, signed as Stripe signs (HMAC-SHA256)."""
    body = json.dumps(payload).encode()
    timestamp = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={digest}"


class SilentServer:
    """Stripe paused: a loopback TCP server that accepts connections and never answers.

    For each connection it notes who hung up first: the portal (its timeout fired) or this
    server, after ``patience`` seconds, the test's own limit.
    """

    def __init__(self, patience: float = 15.0) -> None:
        self.patience = patience
        self.hung_up_by_portal = 0
        self.outlasted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.address = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._counting = threading.Lock()
        self._holders: list[threading.Thread] = []
        self._stop = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._hold_in_thread(connection)

    def _hold_in_thread(self, connection: socket.socket) -> None:
        holder = threading.Thread(target=self._hold, args=(connection,), daemon=True)
        self._holders.append(holder)
        holder.start()

    def _hold(self, connection: socket.socket) -> None:
        connection.settimeout(self.patience)
        try:
            with connection:
                while connection.recv(4096):  # read the request; never answer
                    pass
            portal_hung_up = True
        except TimeoutError:
            portal_hung_up = False
        except OSError:  # reset by the portal
            portal_hung_up = True
        with self._counting:
            if portal_hung_up:
                self.hung_up_by_portal += 1
            else:
                self.outlasted += 1

    def settle(self) -> tuple[int, int]:
        """(connections the portal hung up, connections it never gave up), once all ended."""
        self._stop.set()
        self._acceptor.join()
        self._listener.setblocking(False)
        while True:  # connections still waiting in the backlog
            try:
                connection, _ = self._listener.accept()
            except BlockingIOError:
                break
            self._hold_in_thread(connection)
        for holder in self._holders:
            holder.join()
        return self.hung_up_by_portal, self.outlasted

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join()
        self._listener.close()


class StripeOutage:
    """Stripe going down and coming back, as the portal sees it.

    ``stopped``: the API base is a loopback port nobody listens on (connection refused, as
    when localstripe is stopped). ``paused``: a ``SilentServer``. ``end()`` points the
    portal back at localstripe, which kept every PaymentIntent made before the outage.
    """

    def __init__(self, app: Flask, kind: str, localstripe: str) -> None:
        self.app = app
        self.kind = kind
        self.localstripe = localstripe
        self.silent: SilentServer | None = None
        self._closed_port: socket.socket | None = None

    def begin(self) -> None:
        if self.kind == "paused":
            self.silent = SilentServer()
            address = self.silent.address
        else:
            # Bound but never listening: connecting is refused, and no one else takes the port.
            self._closed_port = socket.socket()
            self._closed_port.bind(("127.0.0.1", 0))
            address = f"http://127.0.0.1:{self._closed_port.getsockname()[1]}"
        self.address = address
        self.app.config["STRIPE_API_BASE"] = address

    def connections(self) -> tuple[int, int]:
        """For a paused Stripe: (hung up by the portal, outlasted the portal's patience)."""
        assert self.silent is not None
        return self.silent.settle()

    def end(self) -> None:
        self.app.config["STRIPE_API_BASE"] = self.localstripe
        if self.silent is not None:
            self.silent.close()
        if self._closed_port is not None:
            self._closed_port.close()
