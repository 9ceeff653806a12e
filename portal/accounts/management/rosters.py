"""Uploading an organization's roster (``portal.accounts.rosters``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from portal.accounts import memberships, queries, rosters
from portal.accounts.labels import encoding_label
from portal.accounts.management import forms
from portal.accounts.management.scope import organization_or_404
from portal.language import gettext as _
from portal.pages import acting_person, on_refusal

TEMPLATE = "accounts/manage/roster.html"


def roster(slug: str) -> Response | tuple[str, int]:
    organization = organization_or_404(slug)
    actor = acting_person()
    form = forms.RosterUploadForm()
    upload = queries.latest_roster(organization)
    page = {
        "organization": organization,
        "form": form,
        "upload": upload,
        "uploaded_by": upload.uploaded_by if upload else None,
        "can_decide": memberships.can_decide_memberships(actor, organization),
        "max_megabytes": forms.MAX_ROSTER_BYTES // (1024 * 1024),
    }
    if form.validate_on_submit():
        on_refusal(TEMPLATE, **page)
        file = form.roster.data
        result = rosters.import_roster(
            organization, actor=actor, filename=file.filename or "", content=file.read()
        )
        flash(
            _(
                "Roster imported (%(encoding)s). Rows: %(rows)d. Claims verified: "
                "%(verified)d. Verified members no longer listed, flagged for review: "
                "%(flagged)d. Flags cleared: %(unflagged)d.",
                encoding=encoding_label(result.encoding),
                rows=result.rows,
                verified=result.verified,
                flagged=result.flagged,
                unflagged=result.unflagged,
            ),
            "success",
        )
        return redirect(url_for(".roster", slug=organization.slug))
    return render_template(TEMPLATE, **page), 400 if form.is_submitted() else 200
