"""Plans A, B and C and staff (the application helpers are in applications.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal.accounts.models import Person, Role
from portal.dues.demo import load_demo_plans
from portal.dues.models import DuesPlan
from portal.extensions import db
from tests.factories import add_person, add_role


@pytest.fixture
def dues_plans(network: None, app: Flask) -> Iterator[dict[str, DuesPlan]]:
    keys = ("INVOICE_REGISTRATION_NUMBER", "INVOICE_BANK_ACCOUNT")
    saved = {key: app.config[key] for key in keys}
    app.config.update(
        INVOICE_REGISTRATION_NUMBER="T1234567890123",
        INVOICE_BANK_ACCOUNT="三井住友銀行 日本橋支店 普通 1234567",
    )
    load_demo_plans()
    yield {plan.code: plan for plan in db.session.scalars(db.select(DuesPlan))}
    app.config.update(saved)


@pytest.fixture
def staff(network: None) -> Person:
    return add_role(add_person("secretariat@link-j.org"), Role.STAFF)
