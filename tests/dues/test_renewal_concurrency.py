"""Two renewal runs at the same moment, each in its own connection (PostgreSQL only): both
find no charge yet, both insert, and the unique constraint lets one in (rule 20). The mail of
the loser's insert rolls back with it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.dues import renewal
from portal.dues.models import DuesCharge, DuesPlan, MemberPlan
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.payments.invoices import record_bank_transfer
from portal.payments.models import Invoice
from portal.payments.states import tokyo_today
from tests.dues.applications import approved
from tests.factories import add_person

pytestmark = pytest.mark.usefixtures("postgres_only")


def test_simultaneous_renewals_issue_one_charge(
    app: Flask, dues_plans: dict[str, DuesPlan], staff: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved(add_person("a@corp-a.example"), dues_plans["A"], staff)
    invoice = db.session.scalar(select(Invoice))
    record_bank_transfer(
        invoice, actor=staff, paid_on=tokyo_today(), amount=invoice.total, payer_kana="カ"
    )
    year = db.session.scalar(select(MemberPlan.paid_through)).year
    both_looked = threading.Barrier(2)
    looked = renewal._charge_exists

    def look_together(*args: Any) -> bool:
        found = looked(*args)
        both_looked.wait(timeout=10)  # neither inserts before both saw no charge
        return found

    monkeypatch.setattr(renewal, "_charge_exists", look_together)
    issued: list[int] = []

    def run() -> None:
        with app.app_context():
            issued.append(renewal.renew(year))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(issued) == [0, 1]
    db.session.expire_all()
    annual = select(func.count()).select_from(DuesCharge).where(DuesCharge.kind == "annual")
    assert db.session.scalar(annual) == 1
    mails = select(func.count()).select_from(OutboxMessage)
    assert db.session.scalar(mails.where(OutboxMessage.kind == "dues/renewal_issued")) == 1
