"""``Idempotency-Key`` on POST: a retried request gets the first answer again, not a second
action (a network that dropped the answer must not approve a claim twice)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import Response, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from portal.api import problems
from portal.api.models import ApiKey, IdempotentResponse
from portal.db import utcnow
from portal.extensions import db
from portal.language import gettext as _

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
_KEY_LENGTH = IdempotentResponse.__table__.c.idempotency_key.type.length


def _digest() -> str:
    return hashlib.sha256(request.get_data(cache=True)).hexdigest()


def replay_or_none(key: ApiKey) -> Response | None:
    """The kept answer to this key, path and body, or None to go on and act."""
    token = request.headers.get(HEADER)
    if request.method != "POST" or token is None:
        return None
    if not token or len(token) > _KEY_LENGTH:
        return problems.problem(
            422,
            "invalid-input",
            _("The Idempotency-Key must have 1 to %(count)d characters.", count=_KEY_LENGTH),
        )
    kept = db.session.scalar(
        select(IdempotentResponse).where(
            IdempotentResponse.api_key_id == key.id,
            IdempotentResponse.idempotency_key == token,
            IdempotentResponse.path == request.path,
            IdempotentResponse.created_at > utcnow() - KEPT_FOR,
        )
    )
    if kept is None:
        return None
    if kept.request_digest != _digest():
        return problems.problem(
            422,
            "idempotency-mismatch",
            _("Use a new Idempotency-Key for a request with another body."),
        )
    response = Response(kept.body, status=kept.status, content_type=kept.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def keep(key: ApiKey, response: Response) -> None:
    """Keep a POST's answer under its Idempotency-Key (not 5xx: those may be retried)."""
    token = request.headers.get(HEADER)
    if (
        request.method != "POST"
        or not token
        or len(token) > _KEY_LENGTH
        or response.status_code >= 500
        or response.headers.get("Idempotent-Replayed")
        or response.direct_passthrough
    ):
        return
    db.session.execute(
        delete(IdempotentResponse).where(IdempotentResponse.created_at < utcnow() - KEPT_FOR)
    )
    db.session.add(
        IdempotentResponse(
            api_key_id=key.id,
            idempotency_key=token,
            path=request.path[:500],
            request_digest=_digest(),
            status=response.status_code,
            content_type=response.content_type or "application/json",
            body=response.get_data(as_text=True),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same key raced in from another connection; its answer is the one kept.
        db.session.rollback()
