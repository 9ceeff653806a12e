"""``/healthz``: is this process able to serve, including its database?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.extensions import db

blueprint = Blueprint("health", __name__)


def database_reachable() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    healthy = database_reachable()
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if healthy else "unreachable",
    }
    return jsonify(body), 200 if healthy else 503
