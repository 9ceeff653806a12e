"""In Japanese, in Chromium: a company applies for Special Membership B, staff offer an
orientation, the applicant books it, staff approve, record the bank transfer against the
qualified invoice, and the new member opens their membership card."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import Role
from portal.db import utcnow
from portal.dues.demo import load_demo_plans
from portal.extensions import db
from portal.payments.models import Invoice
from portal.payments.states import TOKYO, tokyo_today

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "Nihonbashi-LS-2026"
JA = {"locale": "ja-JP"}

pytestmark = pytest.mark.usefixtures("network")


@pytest.fixture
def dues_ready(app: Flask) -> Iterator[None]:
    keys = ("INVOICE_REGISTRATION_NUMBER", "INVOICE_BANK_ACCOUNT")
    saved = {key: app.config[key] for key in keys}
    app.config.update(
        INVOICE_REGISTRATION_NUMBER="T1234567890123",
        INVOICE_BANK_ACCOUNT="三井住友銀行 日本橋支店 普通 1234567",
    )
    load_demo_plans()
    applicant = services.create_person_directly(
        "soumu@nihonbashi-bio.example", PASSWORD, family_name="山田", given_name="太郎"
    )
    staff = services.create_person_directly(
        "jimukyoku@link-j.example", PASSWORD, family_name="佐藤", given_name="花子"
    )
    services.grant_role(staff, Role.STAFF, actor=None)
    assert applicant.id
    yield
    app.config.update(saved)


def _log_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label("パスワード", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()


def test_application_to_orientation_to_paid_invoice_to_card_in_japanese(
    new_page: Callable[..., Page],
    expect: Any,
    assert_accessible: Callable[[Page], None],
    dues_ready: None,
) -> None:
    applicant = new_page(**JA)
    _log_in(applicant, "soumu@nihonbashi-bio.example")
    applicant.goto("/membership/plans")
    assert_accessible(applicant)
    applicant.get_by_role("link", name="特別会員Bに申し込む").click()
    applicant.get_by_label("会社名", exact=True).fill("日本橋バイオ株式会社")
    applicant.get_by_label("会社名（フリガナ）").fill("ニホンバシバイオ")
    applicant.get_by_label("法人番号（13桁）").fill("4011001098993")
    applicant.get_by_label("代表者", exact=True).fill("山田 太郎")
    applicant.get_by_label("住所").fill("東京都中央区日本橋本町2-3-11")
    applicant.get_by_label("請求先担当者", exact=True).fill("経理部 鈴木")
    applicant.get_by_label("請求先担当者のメールアドレス").fill("keiri@nihonbashi-bio.example")
    applicant.get_by_label("関心のある分野").fill("再生医療、創薬")
    assert_accessible(applicant)
    applicant.get_by_label("上記のLINK-Jの目的と会員規約に同意します").check()
    applicant.get_by_role("button", name="申し込む").click()
    expect(applicant.locator("#application-status")).to_have_text("受付済み")

    staff = new_page(**JA)
    _log_in(staff, "jimukyoku@link-j.example")
    staff.goto("/admin/dues/applications")
    staff.get_by_role("link", name="山田 太郎").click()
    when = (utcnow() + timedelta(days=4)).astimezone(TOKYO)
    staff.get_by_label("日時1（東京時間、YYYY-MM-DD HH:MM）").fill(when.strftime("%Y-%m-%d 14:00"))
    staff.get_by_label("会場またはミーティングURL").first.fill(
        "日本橋ライフサイエンスビルディング 201"
    )
    staff.get_by_role("button", name="この日時を提示する").click()
    expect(staff.get_by_text("オリエンテーション日時を申込者に送りました。")).to_be_visible()

    applicant.reload()
    applicant.get_by_role("button", name="この日時で予約する").click()
    expect(applicant.locator("#application-status")).to_have_text("オリエンテーション予約済み")
    expect(applicant.get_by_role("link", name="カレンダーに追加（.ics）")).to_be_visible()

    staff.reload()
    staff.get_by_role("button", name="承認して会費を請求する").click()
    expect(staff.get_by_text("承認しました。入会金と初年度会費を請求しました。")).to_be_visible()

    invoice = db.session.scalar(select(Invoice))
    applicant.goto("/membership")
    applicant.get_by_role("link", name=f"請求書 {invoice.number}").click()
    expect(applicant.locator(".addressee")).to_contain_text("日本橋バイオ株式会社")
    expect(applicant.locator(".addressee")).to_contain_text("経理部 鈴木 様")

    staff.goto(f"/admin/invoices/{invoice.number}/paid")
    staff.get_by_label("振込日").fill(tokyo_today().isoformat())
    staff.get_by_label("振込金額").fill(str(invoice.total))
    staff.get_by_label("振込人名（カナ、通帳の表記どおり）").fill("ニホンバシバイオ")
    staff.get_by_role("button", name="入金済みとして記録").click()

    applicant.goto("/membership/card")
    expect(applicant.get_by_role("heading", level=1)).to_have_text("LINK-J会員証")
    expect(applicant.get_by_text("特別会員B")).to_be_visible()
    expect(applicant.locator("figure.qr svg")).to_be_visible()
    assert_accessible(applicant)
