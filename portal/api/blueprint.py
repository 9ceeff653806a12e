"""The ``/api/v1`` blueprint and the conventions every operation shares.

- Authentication: ``Authorization: Bearer <key>`` (rule 18); the key's scopes are checked by
  each operation with ``acting_key(Scope…)``.
- Every call is audited once, after its work (``keys.note_use``).
- ``Idempotency-Key`` on a POST: the first answer is kept 24 hours and replayed for the same
  key, path and body (``idempotency``).
- Reads carry an ``ETag`` and answer ``304`` to a matching ``If-None-Match``.
- Per-key rate limits (Flask-Limiter) with ``RateLimit`` and ``RateLimit-Policy`` headers.
- Errors are ``application/problem+json`` (``problems``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import Flask, current_app, g, request
from flask_openapi3 import APIBlueprint
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal.accounts.models import Person
from portal.api import idempotency, problems
from portal.api.keys import key_for_secret, note_use
from portal.api.models import ApiKey, Scope
from portal.db import DATABASE_UNAVAILABLE
from portal.errors import DomainError
from portal.extensions import csrf, db, limiter
from portal.language import gettext as _

PREFIX = "/api/v1"
#: Operations anyone may read: the document and its reference page.
PUBLIC_ENDPOINTS = {"api.openapi_document", "api.reference"}
#: Documented on every operation that needs a key.
COMMON_RESPONSES: dict[Any, Any] = {
    400: problems.Problem,
    401: problems.Problem,
    403: problems.Problem,
    429: problems.Problem,
}

api = APIBlueprint(
    "api",
    __name__,
    url_prefix=PREFIX,
    abp_security=[{"bearer": []}],
    abp_responses=COMMON_RESPONSES,
)
# Programs, not browsers, call the API: no CSRF token, but a key, limited per key.
csrf.exempt(api)
limiter.limit(lambda: rate_limit(), key_func=lambda: rate_limit_key())(api)


class ScopeMissing(HTTPException):
    code = 403


def acting_key(*needed: Scope) -> ApiKey:
    """The request's key; 403 (problem) unless it holds every scope ``needed``."""
    key: ApiKey = g.api_key
    missing = [scope.value for scope in needed if not key.allows(scope)]
    if missing:
        raise ScopeMissing(description=", ".join(missing))
    return key


def acting_person() -> Person:
    """Who the services are told acts: the person who created the key (rule 18)."""
    return acting_key().created_by


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def rate_limit_key() -> str:
    """One bucket per key, without a database read (the limiter runs before authentication):
    the hash of the presented secret; callers without one share their address's bucket."""
    secret = _bearer()
    if secret:
        return "api-key:" + hashlib.sha256(secret.encode()).hexdigest()[:32]
    return "api-anon:" + (request.remote_addr or "")


def rate_limit() -> str:
    return str(current_app.config.get("API_RATE_LIMIT", "600 per minute"))


@api.before_request
def authenticate() -> Response | None:
    g.pop("api_key", None)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    secret = _bearer()
    key = key_for_secret(secret) if secret else None
    if key is None:
        return problems.problem(
            401,
            "unauthorized",
            _("Send a valid API key: Authorization: Bearer <key>.")
            if secret
            else _("Send an API key: Authorization: Bearer <key>."),
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    g.api_key = key
    return idempotency.replay_or_none(key)


@api.after_request
def conventions(response: Response) -> Response:
    key: ApiKey | None = g.get("api_key")
    if key is not None:
        idempotency.keep(key, response)
    if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
        response.add_etag()
        response.make_conditional(request)
    response.headers.setdefault("Cache-Control", "private, no-cache")
    response.vary.add("Authorization")
    _rate_limit_headers(response)
    if key is not None:
        note_use(key, method=request.method, path=request.path, status=response.status_code)
    return response


def _rate_limit_headers(response: Response) -> None:
    """RateLimit / RateLimit-Policy (draft-ietf-httpapi-ratelimit-headers)."""
    limit = limiter.current_limit
    if limit is None:
        return
    window = int(limit.limit.get_expiry())
    reset = max(0, int(limit.reset_at - time.time()))
    response.headers["RateLimit-Policy"] = f'"per-key";q={limit.limit.amount};w={window}'
    response.headers["RateLimit"] = f'"per-key";r={max(0, limit.remaining)};t={reset}'
    if response.status_code == 429:
        response.headers["Retry-After"] = str(max(1, reset))


@api.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    return problems.from_domain_error(error)


@api.errorhandler(ScopeMissing)
def _scope_missing(error: ScopeMissing) -> Response:
    return problems.problem(
        403,
        "forbidden",
        _("This key lacks the permission %(scopes)s.", scopes=error.description),
    )


@api.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return problems.from_http_error(error)


def _database_unavailable(error: Exception) -> Response:
    db.session.rollback()
    current_app.logger.error("database unavailable, answered 503: %s", str(error).splitlines()[0])
    return problems.problem(
        503,
        "unavailable",
        _("The portal cannot reach its database; try again in a minute."),
        headers={"Retry-After": "60"},
    )


for _error in DATABASE_UNAVAILABLE:
    api.register_error_handler(_error, _database_unavailable)


def answers_as_api(app: Flask) -> None:
    """flask-openapi3 asks the app how a request that fails validation is answered."""
    app.validation_error_callback = problems.from_validation_error  # type: ignore[attr-defined]
    app.validation_error_status = 422  # type: ignore[attr-defined]
