"""An organization's email-domain rules (``portal.accounts.domain_rules``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from portal.accounts import domain_rules, memberships, queries
from portal.accounts.management import forms
from portal.accounts.management.scope import organization_or_404
from portal.forms import ConfirmForm
from portal.language import gettext as _
from portal.language import ngettext
from portal.pages import acting_person, on_refusal

TEMPLATE = "accounts/manage/domains.html"


def domains(slug: str) -> Response | tuple[str, int]:
    organization = organization_or_404(slug)
    actor = acting_person()
    form = forms.DomainRuleForm()
    page = {
        "organization": organization,
        "rules": queries.domain_rules(organization),
        "form": form,
        "delete_form": ConfirmForm(),
        "can_decide": memberships.can_decide_memberships(actor, organization),
    }
    if form.validate_on_submit():
        on_refusal(TEMPLATE, **page)
        rule, verified = domain_rules.add_domain_rule(
            organization, form.domain.data, actor=actor, note=form.note.data or ""
        )
        flash(
            ngettext(
                "Addresses at %(domain)s now verify members; %(num)d pending claim was "
                "verified at once.",
                "Addresses at %(domain)s now verify members; %(num)d pending claims were "
                "verified at once.",
                verified,
                domain=rule.domain,
            ),
            "success",
        )
        return redirect(url_for(".domains", slug=organization.slug))
    return render_template(TEMPLATE, **page), 400 if form.is_submitted() else 200


def delete_domain(rule_id: int) -> Response:
    rule = queries.domain_rule_for_admin(acting_person(), rule_id) or abort(404)
    back = url_for(".domains", slug=rule.organization.slug)
    if ConfirmForm().validate_on_submit():
        domain = rule.domain
        on_refusal(to=back)
        domain_rules.remove_domain_rule(rule, actor=acting_person())
        flash(_("Addresses at %(domain)s no longer verify members.", domain=domain), "success")
    return redirect(back)
