"""Roster sync: a partner's system PUTs its full current member list; the answer says who was
verified, what is new, what dropped off and who is flagged. Large rosters become a job.

The rules are ``portal.accounts.rosters.sync_roster``'s, the same as a CSV upload's.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_openapi3 import Tag
from sqlalchemy import select

from portal.api import jobs, schemas
from portal.api.blueprint import acting_key, api
from portal.api.memberships import own_organization
from portal.api.models import ApiJob, Scope
from portal.api.problems import Problem
from portal.errors import NotFound
from portal.extensions import db
from portal.language import current_language
from portal.language import gettext as _

TAG = Tag(name="Roster", description="The organization's member list, synced from its CRM")


@api.put(
    "/organizations/<slug>/roster",
    tags=[TAG],
    responses={200: schemas.RosterReport, 202: schemas.JobOut, 404: Problem, 422: Problem},
)
def put_roster(path: schemas.SlugPath, body: schemas.RosterBody) -> Any:
    """Replace the roster with the full current list. Up to ``API_ROSTER_SYNC_ROWS`` records
    are synced at once (200, the report); more become a job (202, ``Location`` its status)."""
    key = acting_key(Scope.ROSTER_WRITE)
    own_organization(key, path.slug)
    records = [r.model_dump(mode="json") for r in body.records]
    if len(records) <= current_app.config.get("API_ROSTER_SYNC_ROWS", 2000):
        result = jobs.sync_now(key, records)
        return schemas.RosterReport.answer(result)
    job = jobs.queue_roster_sync(key, records, locale=current_language())
    location = url_for("api.get_job", job_id=job.id)
    return schemas.JobOut.answer(job), 202, {"Location": location}


@api.get("/jobs/<int:job_id>", tags=[TAG], responses={200: schemas.JobOut, 404: Problem})
def get_job(path: schemas.JobPath) -> dict[str, Any]:
    """A background job of the key's organization: queued, running, done (with its report)
    or failed (with the reason)."""
    key = acting_key()
    job = db.session.scalar(
        select(ApiJob).where(
            ApiJob.id == path.job_id, ApiJob.organization_id == key.organization_id
        )
    )
    if job is None:
        raise NotFound(_("Not found."))
    return schemas.JobOut.answer(job)
