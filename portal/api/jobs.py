"""Background jobs: work queued by a request and done by ``portal api jobs`` (a roster of
20,000 rows takes longer than a caller should wait for an answer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from flask_babel import force_locale
from sqlalchemy import select, update

from portal.accounts.rosters import RosterImport, sync_roster
from portal.api import schemas
from portal.api.keys import may_hold_keys
from portal.api.models import ApiJob, ApiKey, JobStatus
from portal.db import utcnow
from portal.errors import DomainError, InvalidTransition
from portal.extensions import db
from portal.language import gettext as _

ROSTER_SYNC = "roster_sync"


def sync_now(key: ApiKey, records: Sequence[Mapping[str, object]]) -> RosterImport:
    return sync_roster(key.organization, records, actor=key.created_by)


def queue_roster_sync(key: ApiKey, records: list[dict[str, object]], *, locale: str) -> ApiJob:
    job = ApiJob(
        organization_id=key.organization_id,
        api_key_id=key.id,
        kind=ROSTER_SYNC,
        payload={"records": records},
        locale=locale,
    )
    db.session.add(job)
    db.session.commit()
    return job


def _claim_next() -> int | None:
    """Take the oldest queued job; a conditional UPDATE, so two workers never take one job."""
    while True:
        job_id = db.session.scalar(
            select(ApiJob.id)
            .where(ApiJob.status == JobStatus.QUEUED.value)
            .order_by(ApiJob.id)
            .limit(1)
        )
        if job_id is None:
            return None
        taken = db.session.execute(
            update(ApiJob)
            .where(ApiJob.id == job_id, ApiJob.status == JobStatus.QUEUED.value)
            .values(status=JobStatus.RUNNING.value, started_at=utcnow())
        )
        db.session.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return job_id


def _run(job: ApiJob) -> None:
    key = job.api_key
    with force_locale(job.locale):
        if (
            key is None
            or key.revoked_at is not None
            or not may_hold_keys(key.created_by, key.organization)
        ):
            raise InvalidTransition(_("The key that queued this job no longer works."))
        result = sync_now(key, job.payload["records"])
    job.result = schemas.RosterReport.answer(result)


def run_jobs(*, limit: int | None = None, echo: Callable[[str], None] = print) -> int:
    """Do queued jobs oldest first until none is left (or ``limit``); returns how many."""
    done = 0
    while limit is None or done < limit:
        job_id = _claim_next()
        if job_id is None:
            break
        job = db.session.get(ApiJob, job_id)
        assert job is not None
        try:
            _run(job)
            job.status = JobStatus.DONE.value
        except DomainError as error:
            db.session.rollback()
            job = db.session.get(ApiJob, job_id)
            assert job is not None
            job.status = JobStatus.FAILED.value
            job.error = error.message
        job.finished_at = utcnow()
        db.session.commit()
        echo(f"job {job.id} ({job.kind}): {job.status}")
        done += 1
    return done
