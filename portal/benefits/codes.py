"""Code pools: uploading a provider's single-use codes, counting them, and handing one out.

A pool is read and changed with its service's row locked (``portal.locking.lock_rows``), so
no code is given twice and an upload never half-imports.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable

from sqlalchemy import func, select, update

from portal.accounts.models import Person
from portal.audit.services import record
from portal.benefits.catalogue import can_manage_service
from portal.benefits.models import BenefitClaim, BenefitCode
from portal.csvfile import decode_upload
from portal.db import utcnow
from portal.errors import InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.locking import Busy, lock_rows
from portal.organizations.models import ReciprocalService, Redemption

#: A code as a provider issues it (ticketing codes, coupon codes) is well under this.
MAX_CODE_LENGTH = 200
#: More than a year of claims of any service in the network.
MAX_CODES_PER_UPLOAD = 10_000
CODE_COLUMN_TITLES = {"code", "codes", "コード", "クーポンコード", "割引コード"}


def parse_codes(content: bytes) -> list[str]:
    """The codes of an uploaded CSV: the first column, one code a row, an optional title row.

    InvalidInput lists every problem (duplicates, over-long codes), so nothing half-imports.
    """
    text, _encoding = decode_upload(content)
    rows = [row for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    if rows and unicodedata.normalize("NFKC", rows[0][0]).strip().lower() in CODE_COLUMN_TITLES:
        rows = rows[1:]
    codes = [row[0].strip() for row in rows]
    if not codes:
        raise InvalidInput(_("The file has no codes."))
    if len(codes) > MAX_CODES_PER_UPLOAD:
        raise InvalidInput(
            _("Upload at most %(count)d codes at a time.", count=MAX_CODES_PER_UPLOAD)
        )
    problems = []
    too_long = [c for c in codes if len(c) > MAX_CODE_LENGTH]
    if too_long:
        problems.append(
            _(
                "Codes longer than %(length)d characters: %(codes)s.",
                length=MAX_CODE_LENGTH,
                codes=", ".join(c[:20] + "…" for c in too_long[:5]),
            )
        )
    seen: set[str] = set()
    duplicates = sorted({c for c in codes if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if duplicates:
        problems.append(
            _("Codes listed more than once: %(codes)s.", codes=", ".join(duplicates[:20]))
        )
    if problems:
        raise InvalidInput(_("Nothing was imported.") + " " + " ".join(problems))
    return codes


def import_codes(
    service: ReciprocalService, content: bytes, *, actor: Person, filename: str = ""
) -> int:
    """Add an uploaded CSV's codes to the service's pool; all or nothing.

    Raises NotFound unless the actor manages the service, InvalidTransition unless it hands
    out pool codes, InvalidInput for a bad file or codes already in the pool.
    """
    if not can_manage_service(actor, service):
        raise NotFound(_("Not found."))
    if service.redemption != Redemption.CODE_POOL:
        raise InvalidTransition(_("This service does not hand out codes from a pool."))
    codes = parse_codes(content)
    lock_rows(ReciprocalService.__table__, [service.id])
    existing = set(
        db.session.scalars(
            select(BenefitCode.code).where(
                BenefitCode.service_id == service.id, BenefitCode.code.in_(codes)
            )
        )
    )
    if existing:
        db.session.rollback()
        raise InvalidInput(
            _("Nothing was imported.")
            + " "
            + _("Codes already in the pool: %(codes)s.", codes=", ".join(sorted(existing)[:20]))
        )
    now = utcnow()
    db.session.add_all(
        BenefitCode(service_id=service.id, code=code, uploaded_by_id=actor.id, created_at=now)
        for code in codes
    )
    record(
        "benefit_codes.import",
        actor=actor,
        subject_type="reciprocal_service",
        subject_id=service.id,
        organization_id=service.provider_id,
        codes=len(codes),
        filename=filename[:255],
    )
    db.session.commit()
    return len(codes)


def pool_counts(service_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(codes in the pool, codes given) per service, in one statement."""
    ids = list(service_ids)
    if not ids:
        return {}
    return {
        service_id: (total, given)
        for service_id, total, given in db.session.execute(
            select(
                BenefitCode.service_id,
                func.count(BenefitCode.id),
                func.count(BenefitCode.claim_id),
            )
            .where(BenefitCode.service_id.in_(ids))
            .group_by(BenefitCode.service_id)
        )
    }


def take_code(claim: BenefitClaim, service: ReciprocalService) -> str:
    """A free code of the pool for this claim; call with the service locked."""
    code = db.session.scalar(
        select(BenefitCode)
        .where(BenefitCode.service_id == service.id, BenefitCode.claim_id.is_(None))
        .order_by(BenefitCode.id)
        .limit(1)
    )
    if code is None:
        raise InvalidTransition(_("No code is left in the pool. Upload more codes first."))
    # Belt and braces: even a caller that forgot the lock cannot give one code twice.
    taken = db.session.execute(
        update(BenefitCode)
        .where(BenefitCode.id == code.id, BenefitCode.claim_id.is_(None))
        .values(claim_id=claim.id, assigned_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise Busy()
    return code.code
