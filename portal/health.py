"""``/healthz``: can this process serve, and which of its dependencies answer?

The contract a load balancer reads (docs/deploy.md, "Health check"):

- ``200 {"status": "ok", "checks": {...}}``: every dependency answers;
- ``200 {"status": "degraded", ...}``: the database answers but Redis does not; the portal
  keeps serving (rate limits count in each process's memory, pages are rendered afresh), so
  the process must stay in rotation;
- ``503 {"status": "unavailable", ...}``: the database does not answer; nothing useful can
  be served from this process.

``checks`` has ``database`` always and ``redis`` when ``REDIS_URL`` is set, each ``"ok"`` or
``"unreachable"``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from portal.config import REDIS_TIMEOUT_SECONDS
from portal.extensions import db

blueprint = Blueprint("health", __name__)


def database_reachable() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def _redis_client(url: str) -> Any:
    import redis

    # One client (and connection pool) per process, not one per probe.
    clients: dict[str, Any] = current_app.extensions.setdefault("health_redis", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return clients[url]


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(_redis_client(url).ping())
    except (redis.RedisError, OSError):
        return False


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    checks = {"database": "ok" if database_reachable() else "unreachable"}
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        checks["redis"] = "ok" if redis_reachable(redis_url) else "unreachable"
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    elif any(value != "ok" for value in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    response = jsonify({"status": status, "checks": checks})
    response.headers["Cache-Control"] = "no-store"
    return response, code
