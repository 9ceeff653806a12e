"""The membership card: a page and a PDF with the member's name, plan, number and validity,
and a QR code carrying a signed token that reception's lookup page verifies."""

from __future__ import annotations

import io

import segno
from flask import current_app
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from reportlab.lib.units import mm
from sqlalchemy import select

from portal.dues.models import MemberPlan
from portal.extensions import db
from portal.i18n import localized, person_name
from portal.language import gettext as _
from portal.payments.documents import FONT, _new
from portal.timefmt import long_day


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="linkj-member-card")


def card_token(member_plan: MemberPlan) -> str:
    """What the card's QR code carries: the member number, signed (no one can forge a card)."""
    return _serializer().dumps(member_plan.number)


def member_from_token(token: str) -> MemberPlan | None:
    """The member a scanned card names, or None for a token not signed by this portal."""
    try:
        number = _serializer().loads(token)
    except BadSignature:
        return None
    return db.session.scalar(select(MemberPlan).where(MemberPlan.number == number))


def member_from_code(code: str) -> MemberPlan | None:
    """What reception scanned or typed: the card's QR code (the lookup address, whose last
    part is the signed token), the token alone, or the member number printed on the card."""
    code = (code or "").strip()
    if not code:
        return None
    token = code.rstrip("/").rsplit("/", 1)[-1]
    found = member_from_token(token)
    if found is not None:
        return found
    number = code.upper().replace(" ", "")
    return db.session.scalar(select(MemberPlan).where(MemberPlan.number == number))


def card_svg(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False)
    return buffer.getvalue().decode()


def card_pdf(member_plan: MemberPlan, lookup_url: str, language: str) -> bytes:
    """The card as a PDF (the font embedded, as invoices are), its QR code drawn as squares."""
    with force_locale(language):
        buffer, out = _new(_("LINK-J membership card"), language)
        out.line(_("LINK-J membership card"), size=18, gap=10 * mm)
        out.line(person_name(member_plan.person), size=14, gap=8 * mm)
        out.line(_("Plan: %(plan)s", plan=localized(member_plan.plan, "name")))
        out.line(_("Member number: %(number)s", number=member_plan.number))
        if member_plan.paid_through:
            out.line(_("Valid until: %(date)s", date=long_day(member_plan.paid_through)))
        qr = segno.make(lookup_url, error="m")
        module = 1.2 * mm
        top = out.y - 5 * mm
        for row, cells in enumerate(qr.matrix_iter(scale=1, border=2)):
            for column, dark in enumerate(cells):
                if dark:
                    out.canvas.rect(
                        out.left + column * module,
                        top - row * module,
                        module,
                        module,
                        stroke=0,
                        fill=1,
                    )
        out.canvas.setFont(FONT, 8)
        out.canvas.showPage()
        out.canvas.save()
    return buffer.getvalue()
