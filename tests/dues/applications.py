"""A company's details, and a helper that takes an application through the queue to approval
(the steps each have tests of their own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.accounts.models import Person
from portal.db import utcnow
from portal.dues import applying
from portal.dues.applying import ApplicationDetails, SlotProposal
from portal.dues.models import DuesPlan, MembershipApplication
from portal.dues.terms import TERMS_VERSION

#: A real-shaped 法人番号 (the National Tax Agency's worked example: check digit 7).
CORPORATE_NUMBER = "7123456789012"


def corporate_details(**changes: Any) -> ApplicationDetails:
    values = {
        "company_name": "日本橋バイオ株式会社",
        "company_name_kana": "ニホンバシバイオ",
        "corporate_number": CORPORATE_NUMBER,
        "postal_code": "103-0023",
        "address": "東京都中央区日本橋本町2-3-11",
        "representative_name": "山田 太郎",
        "representative_title": "代表取締役",
        "billing_name": "経理部 鈴木",
        "billing_email": "billing@nihonbashi-bio.example",
        "interests": "再生医療",
    }
    return ApplicationDetails(**{**values, **changes})


def individual_details() -> ApplicationDetails:
    return ApplicationDetails(
        address="東京都文京区本郷7-3-1", billing_name="田中 花子", billing_email="hanako@u.example"
    )


def approved(person: Person, plan: DuesPlan, staff: Person) -> MembershipApplication:
    """Apply, be offered an orientation, book it, and be approved."""
    details = corporate_details() if plan.kind == "corporate" else individual_details()
    application = applying.submit_application(person, plan, details, terms_version=TERMS_VERSION)
    applying.propose_slots(
        application,
        [
            SlotProposal(
                utcnow() + timedelta(days=3), "in_person", "Nihonbashi Life Science Building"
            )
        ],
        actor=staff,
    )
    applying.choose_slot(application, application.slots[0].id, person=person)
    applying.approve(application, actor=staff)
    return application
