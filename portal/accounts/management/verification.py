"""The verification queue and the decisions on one membership (verify, reject, revoke).

Partner admins decide their own organization's claims, staff LINK-J's; staff read every
queue. Which records an actor sees is the scoped queries' rule (``scope``), what they may
decide the services' (``portal.accounts.memberships``).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portal.accounts import memberships, queries
from portal.accounts.factors.state import require_recent_factor
from portal.accounts.management import forms
from portal.accounts.management.scope import membership_or_404, organization_or_404
from portal.accounts.models import Membership, MembershipStatus
from portal.i18n import person_name
from portal.language import gettext as _
from portal.language import ngettext
from portal.organizations.models import Organization
from portal.pages import acting_person, on_refusal, page_number
from portal.timefmt import long_day

# --- the queue --------------------------------------------------------------------------------


def _render_queue(
    organization: Organization, *, bulk_form: forms.BulkVerifyForm | None = None
) -> str:
    actor = acting_person()
    status = request.args.get("status", "pending")
    if status not in queries.QUEUE_FILTERS:
        status = "pending"
    search_form = forms.SearchForm(formdata=request.args)
    search = (search_form.q.data or "") if search_form.validate() else ""
    can_decide = memberships.can_decide_memberships(actor, organization)
    if can_decide and bulk_form is None:
        bulk_form = forms.BulkVerifyForm(
            valid_until=memberships.default_validity_end(
                organization, memberships.today(organization)
            )
        )
    pagination = queries.verification_queue(
        organization, status=status, search=search, page=page_number()
    )
    return render_template(
        "accounts/manage/queue.html",
        organization=organization,
        status=status,
        search=search,
        search_form=search_form,
        pagination=pagination,
        flags=queries.queue_flags(organization, list(pagination.items)),
        filters=queries.QUEUE_FILTERS,
        can_decide=can_decide,
        bulk_form=bulk_form,
    )


def _decided(membership: Membership) -> Response:
    """Back to the queue when the decision was made on its row, else the membership's page."""
    if request.form.get("back") == "queue":
        return redirect(url_for(".queue", slug=membership.organization.slug))
    return redirect(url_for(".membership", membership_id=membership.id))


def queue(slug: str) -> str:
    return _render_queue(organization_or_404(slug))


def bulk_verify(slug: str) -> Response | tuple[str, int]:
    organization = organization_or_404(slug)
    require_recent_factor()  # rule 17
    form = forms.BulkVerifyForm()
    if not form.validate_on_submit():
        return _render_queue(organization, bulk_form=form), 400
    on_refusal(to=url_for(".queue", slug=organization.slug))
    count = memberships.verify_memberships(
        form.membership_ids.data or [],
        actor=acting_person(),
        organization=organization,
        valid_until=form.valid_until.data,
    )
    flash(
        ngettext(
            "%(num)d membership verified until %(date)s.",
            "%(num)d memberships verified until %(date)s.",
            count,
            date=long_day(form.valid_until.data),
        ),
        "success",
    )
    return redirect(url_for(".queue", slug=organization.slug))


# --- one membership ---------------------------------------------------------------------------


def _render_membership(
    membership: Membership,
    *,
    verify_form: forms.VerifyMembershipForm | None = None,
    reject_form: forms.RejectMembershipForm | None = None,
    revoke_form: forms.RevokeMembershipForm | None = None,
) -> str:
    organization = membership.organization
    can_decide = memberships.can_decide_memberships(acting_person(), organization)
    if can_decide and membership.status == MembershipStatus.PENDING:
        verify_form = verify_form or forms.VerifyMembershipForm(
            valid_until=memberships.default_validity_end(
                organization, memberships.today(organization)
            )
        )
        reject_form = reject_form or forms.RejectMembershipForm()
    if can_decide and membership.status == MembershipStatus.VERIFIED:
        revoke_form = revoke_form or forms.RevokeMembershipForm()
    return render_template(
        "accounts/manage/membership.html",
        membership=membership,
        organization=organization,
        history=queries.membership_history(membership),
        can_decide=can_decide,
        verify_form=verify_form if can_decide else None,
        reject_form=reject_form if can_decide else None,
        revoke_form=revoke_form if can_decide else None,
    )


def membership(membership_id: int) -> str:
    return _render_membership(membership_or_404(membership_id))


def verify_membership(membership_id: int) -> Response | tuple[str, int]:
    membership = membership_or_404(membership_id)
    form = forms.VerifyMembershipForm()
    if not form.validate_on_submit():
        return _render_membership(membership, verify_form=form), 400
    on_refusal(to=url_for(".membership", membership_id=membership.id))
    memberships.verify_membership(
        membership,
        actor=acting_person(),
        valid_until=form.valid_until.data,
        note=form.note.data or "",
    )
    flash(
        _(
            "%(name)s is verified as a member of %(organization)s until %(date)s.",
            name=person_name(membership.person),
            organization=membership.organization.short_name,
            date=long_day(membership.valid_until),
        ),
        "success",
    )
    return _decided(membership)


def reject_membership(membership_id: int) -> Response | tuple[str, int]:
    membership = membership_or_404(membership_id)
    form = forms.RejectMembershipForm()
    if not form.validate_on_submit():
        return _render_membership(membership, reject_form=form), 400
    on_refusal(to=url_for(".membership", membership_id=membership.id))
    memberships.reject_membership(membership, actor=acting_person(), reason=form.reason.data)
    flash(
        _(
            "The claim of %(name)s is rejected; they are told the reason by mail.",
            name=person_name(membership.person),
        ),
        "success",
    )
    return _decided(membership)


def revoke_membership(membership_id: int) -> Response | tuple[str, int]:
    membership = membership_or_404(membership_id)
    form = forms.RevokeMembershipForm()
    if not form.validate_on_submit():
        return _render_membership(membership, revoke_form=form), 400
    on_refusal(to=url_for(".membership", membership_id=membership.id))
    memberships.revoke_membership(membership, actor=acting_person(), reason=form.reason.data)
    flash(
        _(
            "The membership of %(name)s is revoked; they are told the reason by mail.",
            name=person_name(membership.person),
        ),
        "success",
    )
    return redirect(url_for(".membership", membership_id=membership.id))
