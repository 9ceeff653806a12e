"""The API while the database is away: a 503 problem in the caller's language, Retry-After."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal import create_app
from portal.extensions import db
from tests.factories import PortalTestClient


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_database_outage_is_a_503_problem(tmp_path: Path, language: str) -> None:
    # Not TESTING: errors are handled as in production. Port 9 on loopback: nobody listens.
    portal = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"
            "?connect_timeout=2",
            "PAGE_CACHE_URL": "",
        }
    )
    portal.test_client_class = PortalTestClient
    try:
        response = portal.test_client().get(
            "/api/v1/mous",
            headers={"Authorization": "Bearer lkj_" + "x" * 43, "Accept-Language": language},
        )
    finally:
        with portal.app_context():
            db.engine.dispose()

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "60"
    assert response.json["detail"] == (
        "The portal cannot reach its database; try again in a minute."
        if language == "en"
        else "ポータルがデータベースに接続できません。1分ほどしてからもう一度お試しください。"
    )
