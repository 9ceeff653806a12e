"""The API keys page of an organization (``/admin/organizations/<slug>/api-keys``): its
deciders create keys (the secret shown once) and revoke them (rule 18)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.accounts import queries
from portal.accounts.factors.state import require_recent_factor
from portal.admin.access import management_blueprint
from portal.api import keys
from portal.api.models import ApiKey, Scope
from portal.forms import ConfirmForm
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.organizations.models import Organization
from portal.pages import acting_person, on_refusal

blueprint = management_blueprint("api_manage", __name__)
TEMPLATE = "api/manage/keys.html"

SCOPE_LABELS = {
    Scope.MEMBERSHIPS_READ: _l("Read memberships"),
    Scope.MEMBERSHIPS_DECIDE: _l("Verify, reject and revoke memberships"),
    Scope.ROSTER_WRITE: _l("Replace the roster"),
    Scope.CLAIMS_READ: _l("Read claims and the reciprocity report"),
    Scope.CLAIMS_DECIDE: _l("Approve, refuse and fulfil claims"),
    Scope.REGISTRATIONS_READ: _l("Read events and registrations"),
    Scope.CHECKIN: _l("Check in tickets"),
}


class KeyForm(FlaskForm):
    name = StringField(
        _l("Name of the system that will use it"), validators=[DataRequired(), Length(max=100)]
    )
    scopes = SelectMultipleField(
        _l("Permissions"),
        choices=[SelectChoice(scope.value, label) for scope, label in SCOPE_LABELS.items()],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(_l("Choose at least one permission."))],
    )


def _organization(slug: str) -> Organization:
    return queries.organization_for_admin(acting_person(), slug) or abort(404)


def _page(
    organization: Organization, form: KeyForm, created: keys.CreatedKey | None = None
) -> dict[str, Any]:
    return {
        "organization": organization,
        "keys": keys.keys_of(organization),
        "form": form,
        "revoke_form": ConfirmForm(),
        "may_hold": keys.may_hold_keys(acting_person(), organization),
        "created": created,
        "scope_labels": {scope.value: label for scope, label in SCOPE_LABELS.items()},
    }


@blueprint.route("/organizations/<slug>/api-keys", methods=["GET", "POST"])
def api_keys(slug: str) -> tuple[str, int]:
    organization = _organization(slug)
    form = KeyForm()
    if form.validate_on_submit():
        # A key acts with its creator's rights for as long as it lives: creating one asks
        # for a recent second factor, as granting a role does (rule 17).
        require_recent_factor()
        on_refusal(TEMPLATE, **_page(organization, form))
        created = keys.create_key(
            organization, actor=acting_person(), name=form.name.data, scopes=form.scopes.data
        )
        # Rendered, not redirected: the secret is on this one answer (no-store) and nowhere else.
        return render_template(
            TEMPLATE, **_page(organization, KeyForm(formdata=None), created)
        ), 201
    return render_template(
        TEMPLATE, **_page(organization, form)
    ), 400 if form.is_submitted() else 200


@blueprint.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
def revoke(key_id: int) -> Response:
    key: ApiKey = keys.key_for_holder(acting_person(), key_id) or abort(404)
    back = url_for(".api_keys", slug=key.organization.slug)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=back)
        keys.revoke_key(key, actor=acting_person())
        flash(_("The key “%(name)s” no longer works.", name=key.name), "success")
    return redirect(back)
