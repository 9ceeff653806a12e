"""Rate limits are shared by every process of the portal when REDIS_URL is set."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

ATTEMPT = textwrap.dedent(
    """
    import sys
    from flask_migrate import upgrade
    from portal import create_app

    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                      "RATELIMIT_KEY_PREFIX": sys.argv[2]})
    with app.app_context():
        upgrade()
    client = app.test_client()
    codes = []
    for _ in range(int(sys.argv[3])):
        response = client.post("/login", data={"email": "shared@example.org",
                                               "password": "wrong-password-x"})
        codes.append(response.status_code)
    print(" ".join(map(str, codes)))
    """
)


def _attempts(database: str, prefix: str, count: int, instance: Path, redis_url: str) -> list[int]:
    result = subprocess.run(
        [sys.executable, "-c", ATTEMPT, database, prefix, str(count)],
        env={**os.environ, "REDIS_URL": redis_url, "PORTAL_INSTANCE_PATH": str(instance)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [int(code) for code in result.stdout.split()]


def test_login_limit_is_shared_between_two_processes(tmp_path: Path, redis_url: str) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    prefix = f"test-{uuid.uuid4().hex}"

    first_process = _attempts(database, prefix, 5, tmp_path, redis_url)
    second_process = _attempts(database, prefix, 1, tmp_path, redis_url)

    assert first_process == [200] * 5
    assert second_process == [429]
