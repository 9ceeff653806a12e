"""An organization's webhooks page (``/admin/organizations/<slug>/webhooks``): its deciders
register endpoints and the events they want, rotate secrets, read the delivery log and send a
delivery again."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from portal.accounts import queries
from portal.api import webhooks
from portal.api.keys import may_hold_keys
from portal.api.management import blueprint
from portal.api.models import WebhookDelivery, WebhookEndpoint
from portal.extensions import db
from portal.forms import ConfirmForm
from portal.language import gettext as _
from portal.language import lazy_gettext as _l
from portal.organizations.models import Organization
from portal.pages import acting_person, on_refusal

TEMPLATE = "api/manage/webhooks.html"
LOG_SIZE = 50

#: How the page names each event an endpoint may choose (``webhooks.EVENT_TYPES``).
EVENT_LABELS = {
    "membership.claimed": _l("A membership is claimed"),
    "membership.verified": _l("A membership is verified"),
    "membership.rejected": _l("A membership claim is rejected"),
    "membership.revoked": _l("A membership is revoked"),
    "claim.requested": _l("A service is requested"),
    "claim.decided": _l("A service request is approved or rejected"),
    "claim.fulfilled": _l("A service request is fulfilled"),
    "registration.created": _l("Someone registers for an event"),
    "registration.cancelled": _l("A registration is cancelled"),
    "registration.checked_in": _l("A registrant is checked in"),
    "roster.synced": _l("A roster sync or upload finishes"),
}


class EndpointForm(FlaskForm):
    url = StringField(_l("Address (https://)"), validators=[DataRequired(), Length(max=500)])
    event_types = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(t, EVENT_LABELS[t]) for t in webhooks.EVENT_TYPES],
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired(_l("Choose at least one event."))],
    )


def _organization(slug: str) -> Organization:
    return queries.organization_for_admin(acting_person(), slug) or abort(404)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.scalar(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .options(joinedload(WebhookEndpoint.organization))
    )
    if endpoint is None or not may_hold_keys(acting_person(), endpoint.organization):
        abort(404)
    return endpoint


def _page(organization: Organization, form: EndpointForm) -> dict[str, Any]:
    endpoints = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == organization.id)
        .order_by(WebhookEndpoint.id)
    ).all()
    log = db.session.scalars(
        select(WebhookDelivery)
        .join(WebhookDelivery.endpoint)
        .where(WebhookEndpoint.organization_id == organization.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(LOG_SIZE)
    ).all()
    return {
        "organization": organization,
        "endpoints": endpoints,
        "log": log,
        "form": form,
        "button": ConfirmForm(),
        "may_hold": may_hold_keys(acting_person(), organization),
    }


@blueprint.route("/organizations/<slug>/webhooks", methods=["GET", "POST"])
def webhooks_page(slug: str) -> Response | tuple[str, int]:
    organization = _organization(slug)
    form = EndpointForm()
    if form.validate_on_submit():
        on_refusal(TEMPLATE, **_page(organization, form))
        webhooks.add_endpoint(
            organization,
            actor=acting_person(),
            url=form.url.data,
            event_types=form.event_types.data,
        )
        flash(_("The endpoint is registered; copy its signing secret below."), "success")
        return redirect(url_for(".webhooks_page", slug=slug))
    status = 400 if form.is_submitted() else 200
    return render_template(TEMPLATE, **_page(organization, form)), status


def _back(endpoint: WebhookEndpoint) -> str:
    return url_for(".webhooks_page", slug=endpoint.organization.slug)


@blueprint.route("/webhooks/<int:endpoint_id>/rotate", methods=["POST"])
def rotate(endpoint_id: int) -> Response:
    endpoint = _endpoint(endpoint_id)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=_back(endpoint))
        webhooks.rotate_secret(endpoint, actor=acting_person())
        flash(_("New secret: the old one signs beside it for 24 hours."), "success")
    return redirect(_back(endpoint))


@blueprint.route("/webhooks/<int:endpoint_id>/enable", methods=["POST"])
def enable(endpoint_id: int) -> Response:
    return _set_enabled(endpoint_id, enabled=True)


@blueprint.route("/webhooks/<int:endpoint_id>/disable", methods=["POST"])
def disable(endpoint_id: int) -> Response:
    return _set_enabled(endpoint_id, enabled=False)


def _set_enabled(endpoint_id: int, *, enabled: bool) -> Response:
    endpoint = _endpoint(endpoint_id)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=_back(endpoint))
        webhooks.set_enabled(endpoint, actor=acting_person(), enabled=enabled)
    return redirect(_back(endpoint))


@blueprint.route("/webhook-deliveries/<int:delivery_id>/send-again", methods=["POST"])
def send_again(delivery_id: int) -> Response:
    delivery = db.session.get(WebhookDelivery, delivery_id) or abort(404)
    endpoint = _endpoint(delivery.endpoint_id)
    if ConfirmForm().validate_on_submit():
        on_refusal(to=_back(endpoint))
        webhooks.send_again(delivery, actor=acting_person())
        flash(_("The delivery is queued again."), "success")
    return redirect(_back(endpoint))
