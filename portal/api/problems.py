"""Errors as ``application/problem+json`` (RFC 9457), titled in the caller's language.

Every refusal the API gives, whether a service's ``DomainError``, a request that fails
validation, a missing key or a limit reached, reads the same way: ``type``, ``title``,
``status``, ``detail``, and for invalid input the ``errors`` a program can act on.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import HTTPException

from portal.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from portal.extensions import db
from portal.language import gettext as _
from portal.language import lazy_gettext as _l

PROBLEM_TYPE_BASE = "https://portal.link-j.org/api/problems/"
MEDIA_TYPE = "application/problem+json"

#: Titles by problem type, one per kind of refusal (the detail says what exactly).
TITLES = {
    "not-found": _l("Not found"),
    "invalid-input": _l("The request is not valid"),
    "conflict": _l("The record is not in a state that allows this"),
    "unauthorized": _l("An API key is needed"),
    "forbidden": _l("This key may not do that"),
    "rate-limited": _l("Too many requests"),
    "idempotency-mismatch": _l("This Idempotency-Key was used for another request"),
    "method-not-allowed": _l("Method not allowed"),
    "unavailable": _l("Temporarily unavailable"),
    "bad-request": _l("Bad request"),
    "too-large": _l("The request is too large"),
    "server-error": _l("Server error"),
}

_BY_STATUS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    422: "invalid-input",
    429: "rate-limited",
    503: "unavailable",
}


class FieldError(BaseModel):
    """One invalid field: where it is (``["body", "records", 3, "email"]``) and why."""

    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(json_schema_extra={"description": "RFC 9457 problem details"})

    type: str = Field(description="A URI naming the kind of problem")
    title: str = Field(description="The kind of problem, in the caller's language")
    status: int
    detail: str = Field(description="What went wrong this time, in the caller's language")
    errors: list[FieldError] | None = None


def problem(
    status: int,
    kind: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + kind,
        "title": str(TITLES[kind]),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_domain_error(error: DomainError) -> Response:
    """A service's refusal: rolled back, then answered with the service's own message."""
    db.session.rollback()
    if isinstance(error, NotFound):
        # The same words for a record that is not there and one of another organization.
        return problem(404, "not-found", _("No such record for this organization."))
    if isinstance(error, InvalidInput):
        errors = [{"loc": ["body", error.field], "msg": error.message}] if error.field else None
        return problem(422, "invalid-input", error.message, errors=errors)
    if isinstance(error, InvalidTransition):
        return problem(409, "conflict", error.message)
    return problem(409, "conflict", error.message)


def answers_api_error() -> bool:
    """Whether the request's error is the API's to answer (its blueprint may not have matched
    the address, as for an unknown path under ``/api/``)."""
    return request.path.startswith("/api/")


def from_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    kind = _BY_STATUS.get(status, "server-error" if status >= 500 else "bad-request")
    headers: dict[str, str] = {}
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(sorted(error.valid_methods))  # type: ignore[attr-defined]
    details = {
        400: _("The request could not be read."),
        401: _("Send an API key: Authorization: Bearer <key>."),
        404: _("No such record for this organization."),
        405: _("This address does not accept %(method)s.", method=request.method),
        413: _("The request body is larger than the portal accepts."),
        429: _("This key made too many requests; wait and try again."),
        503: _("The portal cannot reach its database; try again in a minute."),
    }
    detail = details.get(status) or _("The portal could not answer this request.")
    return problem(status, kind, detail, headers=headers)


def from_validation_error(error: Any) -> Response:
    """flask-openapi3's hook for a request pydantic refused: 422 with each field's problem."""
    errors = [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in e["loc"]],
            "msg": e["msg"],
        }
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    return problem(
        422,
        "invalid-input",
        _("Some values are missing or not valid; see errors."),
        errors=errors,
    )
