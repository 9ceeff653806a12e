"""Hostile input anywhere answers 400 or 404 with the portal's page, never a 500.

An anonymous visitor, a member, a partner admin and staff in turn walk every rule of the URL
map with every method it accepts, and send hostile values in each of its converters and, at
once, in every query parameter and form field the portal knows; then every form a page shows
them is submitted with one field at a time made hostile and the others as the page filled
them (so that an edit form reaches its service and the database). The suite runs on SQLite
and, in CI, on PostgreSQL, which refuses a NUL byte in text and an integer beyond its
column's type where SQLite stores or compares them.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule
from werkzeug.test import TestResponse

import portal
from portal.accounts import consents, sessions
from portal.accounts.factors.models import Passkey
from portal.accounts.models import Membership, Person, RosterEntry
from portal.benefits.models import BenefitCode
from portal.events import registering
from portal.events.models import Event
from portal.extensions import db
from portal.organizations.models import Organization, ReciprocalService
from portal.payments import invoices as payments
from portal.payments.models import Payment
from tests.events.test_management import new_event_post
from tests.factories import add_claim, add_event, add_service, ticket
from tests.roles import Cast, login

ROLES = ["anonymous", "member", "partner_admin", "staff"]

#: What each kind of converter is sent in place of a real value (already percent-encoded).
HOSTILE_INTS = ["%00", "-1", "0", str(2**31), str(2**64)]
HOSTILE_SEGMENTS = ["%00", "%7F", "x" * 3000, quote("日本語\u202e🦠") + "%FF%FE"]
#: What every query parameter and form field is sent at once (bytes go out as they are).
HOSTILE_VALUES: list[str | bytes] = [
    "\x00",
    str(2**31),
    "9" * 30,
    "-1",
    "sNaN",
    "x" * 1000,
    "日本語\u202e🦠".encode() + b"\xff\xfe",  # and then not UTF-8
    "²",  # a digit to str.isdigit(), not to int()
    "9999-12",  # a month whose next is beyond the calendar
]
#: What each field of a rendered form is sent, one field at a time.
HOSTILE_FIELD_VALUES: list[str | bytes] = [
    "9" * 20,  # beyond 2**64, and short enough for a field of 20 characters
    str(2**31),  # beyond PostgreSQL's INTEGER, in 10 characters
    "-1",
    "²",
    "sNaN",
    "Infinity",
    "x" * 5000,
]
#: Stripe reads this one's answers, not a person: its 400 is a line of text, not a page.
MACHINE_PATHS = {"/payments/stripe/webhook"}


@dataclass
class World:
    """Something real behind every converter, so that a hostile query or form reaches a view.

    Ids only: a hostile request may delete a row (a domain rule, a service) on the way.
    """

    people: dict[str, int | None]
    ids: dict[str, str]
    event_slug: str

    def value(self, rule: Rule, name: str) -> str:
        """A real value for the converter ``name`` of ``rule``."""
        if name != "slug":
            return self.ids[name]
        endpoint = rule.endpoint
        if "mou" in endpoint or endpoint == "organizations.agreement_detail":
            return "link-j-biocom-2016"
        if "event" in endpoint or "registration" in endpoint or endpoint.startswith("events."):
            return self.event_slug
        return "biocom"

    def url(self, rule: Rule, **hostile: str) -> str:
        values = {name: self.value(rule, name) for name in rule.arguments} | hostile
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


@pytest.fixture
def world(app: Flask, cast: Cast, monkeypatch: pytest.MonkeyPatch) -> World:  # noqa: F811
    monkeypatch.setitem(app.config, "INVOICE_REGISTRATION_NUMBER", "T1010401089234")
    event = add_event(
        agreements=("link-j-biocom-2016",),
        starts_in=timedelta(days=40),
        tickets=(
            {"audience": "partner_member", "price": 11000, "currency": "JPY", "tax_rate": 10},
        ),
    )
    registration = registering.register(
        cast.verified_member, event, ticket_type_id=ticket(event, "partner_member").id
    )
    invoice = payments.request_invoice(
        registration, person=cast.verified_member, company="日本橋製薬株式会社"
    )
    service = add_service("link-j-biocom-2016", "link-j", redemption="code_pool")
    claim = add_claim(cast.verified_member, service)
    ucsd = db.session.scalar(select(Organization).where(Organization.slug == "ucsd"))
    [consent] = consents.give_consent(
        cast.verified_member, [ucsd], version=consents.STATEMENT_VERSION
    )
    passkey = Passkey(
        person_id=cast.verified_member.id, name="Key", credential_id=b"k" * 16, public_key=b"p"
    )
    db.session.add(passkey)
    db.session.commit()
    return World(
        people={
            "anonymous": None,
            "member": cast.verified_member.id,
            "partner_admin": cast.biocom_admin.id,
            "staff": cast.staff.id,
        },
        ids={
            "registration_id": str(registration.id),
            "payment_id": str(invoice.payment.id),
            "invoice_number": quote(invoice.number),
            "service_id": str(service.id),
            "claim_id": str(claim.id),
            "consent_id": str(consent.id),
            "passkey_id": str(passkey.id),
            "membership_id": str(cast.verified.id),
            "person_id": str(cast.claimant.id),
            "rule_id": str(cast.rule.id),
            "invitation_id": "1",
            # LINK-J dues (portal.dues): a plan's code, and ids that need not exist.
            "code": "A",
            "plan_id": "1",
            "application_id": "1",
            "charge_id": "1",
            "session_id": str(sessions.sign_in(cast.verified_member, remember=False).record.id),
            "key_id": "1",
            "job_id": "1",
            "endpoint_id": "1",
            "delivery_id": "1",
            "role": "staff",
            "token": "not-a-real-token",
            "filename": "css/portal.css",
        },
        event_slug=event.slug,
    )


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def names_read_without_a_form() -> set[str]:
    """What views read straight from ``request.args`` or ``request.form``, from the source."""
    read = re.compile(r"request\.(?:args|form|values)\.get(?:list)?\(\s*\"(\w+)\"")
    return {
        name
        for source in Path(portal.__file__).parent.rglob("*.py")
        for name in read.findall(source.read_text(encoding="utf-8"))
    }


def form_field_names(app: Flask) -> set[str]:
    """Every field name of every WTForms class in the portal (a list's first row)."""
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        if module.name.endswith("forms"):
            importlib.import_module(module.name)

    def subclasses(form_class: type) -> Iterator[type]:
        for subclass in form_class.__subclasses__():
            yield subclass
            yield from subclasses(subclass)

    names: set[str] = set()
    with app.test_request_context():
        for form_class in subclasses(FlaskForm):
            for field_ in form_class(meta={"csrf": False}):
                names.add(field_.name)
                row = getattr(getattr(field_, "unbound_field", None), "args", ())
                if row and isinstance(row[0], type):  # a FieldList of subforms
                    names.update(f"{field_.name}-0-{sub.name}" for sub in row[0]())
    return names


def encode(pairs: Iterable[tuple[str, str | bytes]]) -> bytes:
    return urlencode(list(pairs), encoding="utf-8").encode()


@dataclass
class Prober:
    """Sends requests as one person and collects every answer that was a server error."""

    client: FlaskClient
    person_id: int | None
    role: str
    failures: list[str] = field(default_factory=list)
    sent: int = 0
    _signed_in: bool = False

    def send(
        self, method: str, url: str, body: bytes | dict[str, Any] | None = None
    ) -> TestResponse | None:
        """``body``: an urlencoded form, or fields and files to send as multipart."""
        if not self._signed_in:
            self._sign_in()
        self.sent += 1
        shown = f"{self.role}: {method} {url[:150]!r} {str(body)[:150]}"
        try:
            response = self.client.open(
                url,
                method=method,
                data=body,
                content_type="application/x-www-form-urlencoded"
                if isinstance(body, bytes)
                else None,
            )
        except Exception as error:  # noqa: BLE001 - the test reports every one it meets
            db.session.rollback()
            self.failures.append(f"{shown}: {error!r}"[:600])
            return None
        finally:
            # A hostile post may log out or end the session (logout, a changed password).
            self._signed_in = method == "GET"
        if response.status_code >= 500:
            self.failures.append(f"{shown}: {response.status_code}")
        elif response.status_code in (400, 404) and not is_portal_page(response, url):
            self.failures.append(f"{shown}: a bare {response.status_code} page")
        response.close()
        return response

    def _sign_in(self) -> None:
        if self.person_id is None:
            return
        db.session.expire_all()
        person = db.session.scalar(select(Person).where(Person.id == self.person_id))
        assert person is not None
        login(self.client, person)

    def expect(self, response: TestResponse, status: int) -> None:
        if response.status_code != status:
            self.failures.append(
                f"{self.role}: {response.request.method} {response.request.path[:150]!r}: "
                f"{response.status_code}, not {status}"
            )


def is_portal_page(response: TestResponse, url: str) -> bool:
    """The portal's own layout (a bare Werkzeug error page has none), where a person reads."""
    if urlsplit(url).path in MACHINE_PATHS or response.mimetype != "text/html":
        return True
    return 'class="site-header' in response.get_data(as_text=True)


def refused_for_who_asks(response: TestResponse | None) -> bool:
    """The role check answered before the view read anything of the request."""
    if response is None:
        return False
    to_login = response.status_code == 302 and "/login" in response.headers.get("Location", "")
    return to_login or response.status_code == 403


# --- forms as pages render them -------------------------------------------------------------


@dataclass
class RenderedForm:
    action: str
    method: str
    #: Each control's name and the value a browser would send untouched; None: not sent.
    controls: list[tuple[str, str | None]] = field(default_factory=list)
    #: File inputs: an upload is sent as a CSV whose every cell is the hostile value.
    files: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return list(dict.fromkeys(name for name, _ in self.controls))

    def submit_with(self, hostile_name: str, hostile: str | bytes) -> bytes:
        pairs: list[tuple[str, str | bytes]] = []
        sent = False
        for name, value in self.controls:
            if name != hostile_name:
                pairs.extend([(name, value)] if value is not None else [])
            elif not sent:
                pairs.append((name, hostile))
                sent = True
        return encode(pairs)

    def upload(self, file_name: str, hostile: str | bytes) -> dict[str, Any]:
        """A multipart body: the controls as the page filled them, and a CSV (a roster, a
        list of codes) whose row starts with the hostile value."""
        start = hostile.encode() if isinstance(hostile, str) else hostile
        content = b"member_number,email,valid_until\n%b1001,member@example.jp,2030-03-31\n" % start
        data: dict[str, Any] = {}
        for name, value in self.controls:
            if value is not None:
                data.setdefault(name, []).append(value)
        data[file_name] = (io.BytesIO(content), "hostile.csv")
        return data


class FormParser(HTMLParser):
    """The forms of a page, filled as a browser would submit them untouched."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[RenderedForm] = []
        self._form: RenderedForm | None = None
        self._select: tuple[str, list[tuple[str, bool]], bool] | None = None
        self._option: dict[str, str | None] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            action = a.get("action") or self.page_url
            self._form = RenderedForm(action, (a.get("method") or "get").upper())
            self.forms.append(self._form)
            return
        form = self._form
        name = a.get("name")
        if form is None:
            return
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind == "file":
                form.files.append(name)
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            checkable = kind in ("checkbox", "radio")
            sent = a.get("value", "on" if checkable else "") or ""
            form.controls.append((name, sent if not checkable or "checked" in a else None))
        elif tag == "select" and name:
            self._select = (name, [], "multiple" in a)
        elif tag == "option" and self._select is not None:
            self._option = a
            self._text = []
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option" and self._select is not None and self._option is not None:
            value = self._option.get("value")
            text = value if value is not None else "".join(self._text).strip()
            self._select[1].append((text, "selected" in self._option))
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, multiple = self._select
            chosen = [v for v, selected in options if selected]
            if not chosen and options and not multiple:
                chosen = [options[0][0]]
            self._form.controls.extend((name, v) for v in chosen)
            if not chosen:
                self._form.controls.append((name, None))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.controls.append((self._textarea, "".join(self._text)))
            self._textarea = None


def row_kind(name: str) -> str:
    """``tickets-3-price`` is ``tickets-0-price``: every row of a list is read alike."""
    return re.sub(r"-\d+-", "-0-", name)


# --- the crawl ------------------------------------------------------------------------------


def test_hostile_input_never_answers_500(app: Flask, world: World) -> None:
    """Each role in turn, least privileged first, sends hostile values to what it is the first
    to reach: an address the role check lets it through, a form (by its fields) a page shows
    it. What an earlier role covered runs the same parsing for a later one."""
    queries = hostile_queries(sorted(names_read_without_a_form() | form_field_names(app)))
    adapter = app.url_map.bind("localhost")
    covered: set[tuple[str, ...]] = set()
    failures: list[str] = []
    sent = 0
    for role in ROLES:
        prober = Prober(app.test_client(), world.people[role], role)
        forms: list[RenderedForm] = []
        first_reached = 0
        for rule in app.url_map.iter_rules():
            for method in methods(rule):
                url = world.url(rule)
                response = prober.send(method, url, b"" if method == "POST" else None)
                if refused_for_who_asks(response):
                    continue  # nothing but the role check ran
                if method == "GET" and response is not None and response.mimetype == "text/html":
                    parser = FormParser(url)
                    parser.feed(response.get_data(as_text=True))
                    for form in parser.forms:
                        try:
                            endpoint, _ = adapter.match(urlsplit(form.action).path, form.method)
                        except HTTPException:
                            continue
                        fields = sorted({*form.names(), *form.files})
                        key = ("form", form.method, endpoint, *fields)
                        if key not in covered:
                            covered.add(key)
                            forms.append(form)
                if ("address", method, rule.rule) in covered:
                    continue
                covered.add(("address", method, rule.rule))
                first_reached += 1
                send_hostile_addresses(prober, world, rule, method)
                if rule.endpoint == "static" or response is None or response.status_code == 404:
                    continue  # not this person's to see, whatever the query or form says
                send_hostile_queries(prober, queries, rule, method, url)
        # Each role is signed in and passes role checks the ones before it did not.
        assert first_reached, f"{role} reached no address the roles before it did not"
        for form in forms:
            send_hostile_fields(prober, form)
        failures += prober.failures
        sent += prober.sent
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:40])


def send_hostile_addresses(prober: Prober, world: World, rule: Rule, method: str) -> None:
    for name, converter in rule._converters.items():
        hostile = HOSTILE_INTS if isinstance(converter, IntegerConverter) else HOSTILE_SEGMENTS
        for value in hostile:
            answer = prober.send(method, world.url(rule, **{name: value}))
            if answer is None:
                continue
            if value == "%00":
                prober.expect(answer, 400)
            elif value.isdigit() and int(value) > 2**31 - 1:  # PostgreSQL's INTEGER
                prober.expect(answer, 404)


def hostile_queries(names: list[str]) -> list[tuple[str | bytes, bytes]]:
    """Each hostile value and the query that sends it in every name at once (the same for
    every address: encoded once)."""
    return [(value, encode((name, value) for name in names)) for value in HOSTILE_VALUES]


def send_hostile_queries(
    prober: Prober, queries: list[tuple[str | bytes, bytes]], rule: Rule, method: str, url: str
) -> None:
    for value, query in queries:
        answer = prober.send(method, f"{url}?{query.decode()}", query if method == "POST" else None)
        if answer is not None and value == "\x00" and url not in MACHINE_PATHS:
            prober.expect(answer, 400)


def send_hostile_fields(prober: Prober, form: RenderedForm) -> None:
    for name in form.files:
        for value in ["\x00", *HOSTILE_FIELD_VALUES]:
            prober.send("POST", form.action, form.upload(name, value))
    for name in dict.fromkeys(row_kind(n) for n in form.names()):
        for value in HOSTILE_FIELD_VALUES:
            body = form.submit_with(name, value)
            if form.method == "POST":
                prober.send("POST", form.action, body)
            else:
                separator = "&" if "?" in form.action else "?"
                prober.send("GET", f"{form.action}{separator}{body.decode()}")


# --- what the crawl found, one by one --------------------------------------------------------


def test_a_nul_byte_anywhere_is_refused_with_the_portals_page(
    client: FlaskClient, network: None
) -> None:
    for url in ("/events/?partner=%00", "/partners/%00", "/events/?q=a%00", "/partners/a%7F"):
        response = client.get(url, headers={"Accept-Language": "en"})
        assert response.status_code == 400, url
        assert "The request could not be completed (400)" in response.get_data(as_text=True)
    japanese = client.get("/partners/%00", headers={"Accept-Language": "ja"})
    assert "リクエストを完了できませんでした" in japanese.get_data(as_text=True)
    response = client.post("/login", data={"email": "a\x00@example.jp", "password": "x"})
    assert response.status_code == 400


def test_line_breaks_and_tabs_in_a_form_are_not_control_characters(
    client: FlaskClient, network: None
) -> None:
    response = client.post("/login", data={"email": "a@example.jp\r\n\t", "password": "x"})
    assert response.status_code == 200


@pytest.mark.parametrize("value", [str(2**31), str(2**63), str(2**64), "9" * 23])
def test_an_integer_beyond_the_database_in_the_path_is_not_found(
    client: FlaskClient, world: World, value: str
) -> None:
    staff = db.session.get(Person, world.people["staff"])
    login(client, staff)
    for url in (f"/events/tickets/{value}", f"/admin/people/{value}", f"/admin/claims/{value}"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert 'class="site-header' in response.get_data(as_text=True)


def test_a_page_number_beyond_the_database_shows_the_first_page(
    client: FlaskClient, network: None
) -> None:
    add_event()
    response = client.get("/events/?page=99999999999999999999999")
    assert response.status_code == 200
    assert "Regenerative Medicine Industrialisation Forum" in response.get_data(as_text=True)


# --- the fixes, one by one, through the pages ----------------------------------------------

EN = {"Accept-Language": "en"}


def form_on(client: FlaskClient, page: str, action: str) -> RenderedForm:
    parser = FormParser(page)
    parser.feed(client.get(page, headers=EN).get_data(as_text=True))
    return next(form for form in parser.forms if form.action == action)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "America"}, "Choose a time zone from the list."),  # a folder of zones
        ({"timezone": "x" * 300}, "Choose a time zone from the list."),  # too long for a file
        ({"ticket_types-0-price": "9" * 20}, "Enter the price as a number"),
        ({"capacity": str(2**31)}, "Enter a number of at most 9 digits."),
        ({"ticket_types-0-capacity": "9" * 20}, "Enter a number of at most 9 digits."),
    ],
)
def test_the_event_editor_refuses_what_the_database_cannot_hold(
    client: FlaskClient,
    cast: Cast,  # noqa: F811 - the imported fixture
    changes: dict[str, str],
    message: str,
) -> None:
    login(client, cast.staff)

    response = client.post("/admin/events/new", data=new_event_post(cast, **changes), headers=EN)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_ticket_row_whose_id_is_not_an_id_is_a_new_row(client: FlaskClient, world: World) -> None:
    staff = db.session.get(Person, world.people["staff"])
    login(client, staff)
    editor = f"/admin/events/{world.event_slug}/edit"
    form = form_on(client, editor, editor)

    for hostile in ("²", "9" * 20):
        response = client.post(
            editor,
            data=form.submit_with("ticket_types-0-id", hostile),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code in (302, 400), hostile


def test_a_claim_limit_beyond_the_database_is_refused_and_changes_nothing(
    client: FlaskClient, world: World
) -> None:
    staff = db.session.get(Person, world.people["staff"])
    login(client, staff)
    page = f"/admin/services/{world.ids['service_id']}/edit"
    form = form_on(client, page, page)

    response = client.post(
        page,
        data=form.submit_with("limit_per_member", "9" * 20),
        content_type="application/x-www-form-urlencoded",
        headers=EN,
    )

    assert response.status_code == 400
    assert "Enter a number of at most 9 digits." in response.get_data(as_text=True)
    service = db.session.get(ReciprocalService, int(world.ids["service_id"]))
    db.session.refresh(service)
    assert service.limit_per_member is None


@pytest.mark.parametrize("amount", ["sNaN", "NaN", "Infinity", "-Infinity", "1e400"])
def test_a_transfer_amount_that_is_not_an_amount_is_refused_and_changes_nothing(
    client: FlaskClient, world: World, amount: str
) -> None:
    staff = db.session.get(Person, world.people["staff"])
    login(client, staff)
    number = world.ids["invoice_number"]

    response = client.post(
        f"/admin/invoices/{number}/paid",
        data={"paid_on": date.today().isoformat(), "amount": amount, "payer_kana": "ニホンバシ"},
        headers=EN,
    )

    assert response.status_code == 400
    assert 'id="amount-error"' in response.get_data(as_text=True)
    payment = db.session.get(Payment, int(world.ids["payment_id"]))
    db.session.refresh(payment)
    assert payment.status == "pending"


def test_a_membership_id_beyond_the_database_verifies_nothing(
    client: FlaskClient, world: World
) -> None:
    admin = db.session.get(Person, world.people["partner_admin"])
    login(client, admin)
    pending = db.session.scalar(select(Membership).where(Membership.status == "pending"))
    assert pending is not None

    response = client.post(
        "/admin/organizations/biocom/memberships/verify",
        data={"membership_ids": [str(pending.id), "9" * 20], "valid_until": "2030-03-31"},
    )

    assert response.status_code < 500
    db.session.refresh(pending)
    assert pending.status == "pending"


@pytest.mark.parametrize("month", ["9999-12", "2026-²", "²-²", "0000-01", "2026-13"])
def test_a_month_that_is_not_one_lists_every_upcoming_event(
    client: FlaskClient, network: None, month: str
) -> None:
    add_event()

    response = client.get("/events/", query_string={"month": month})

    assert response.status_code == 200
    assert "Regenerative Medicine Industrialisation Forum" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (b"B-1001\x00,hanako@example.jp,2030-03-31", "characters that are not text"),
        (b"B-1001,hana\x00ko@example.jp,2030-03-31", "characters that are not text"),
        (b"B-" + b"1" * 65 + b",hanako@example.jp,2030-03-31", "is too long"),
    ],
)
def test_a_roster_the_database_cannot_hold_is_refused_whole(
    client: FlaskClient, world: World, row: bytes, message: str
) -> None:
    admin = db.session.get(Person, world.people["partner_admin"])
    login(client, admin)
    content = b"member_number,email,valid_until\n" + row + b"\n"

    response = client.post(
        "/admin/organizations/biocom/roster",
        data={"roster": (io.BytesIO(content), "roster.csv")},
        headers=EN,
    )

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RosterEntry)) == 0


def test_benefit_codes_with_a_nul_byte_are_refused_whole(client: FlaskClient, world: World) -> None:
    staff = db.session.get(Person, world.people["staff"])
    login(client, staff)

    response = client.post(
        f"/admin/services/{world.ids['service_id']}/codes",
        data={"codes": (io.BytesIO(b"ON-0800\nON-08\x0001\n"), "codes.csv")},
        headers=EN,
    )

    assert response.status_code == 400
    assert "characters that are not text" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(BenefitCode)) == 0
