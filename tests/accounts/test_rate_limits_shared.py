"""Rate limits are shared by every process of the portal when REDIS_URL is set."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

from tests.processes import run_each

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


def test_login_limit_is_shared_between_two_processes(tmp_path: Path, redis_url: str) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    prefix = f"test-{uuid.uuid4().hex}"

    first_output, second_output = run_each(
        ATTEMPT,
        [[database, prefix, "5"], [database, prefix, "1"]],
        env={"REDIS_URL": redis_url, "PORTAL_INSTANCE_PATH": str(tmp_path)},
    )
    first_process = [int(code) for code in first_output.split()]
    second_process = [int(code) for code in second_output.split()]

    assert first_process == [200] * 5
    assert second_process == [429]
