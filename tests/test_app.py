"""The application as a whole: configuration, health, errors, headers and commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import create_app
from portal.config import ConfigurationError, load_settings, normalise_database_url
from portal.extensions import db
from portal.organizations.models import Organization


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY must be set"):
        load_settings(tmp_path, {"PORTAL_ENV": "production", "DATABASE_URL": "postgresql://x/y"})


def test_production_refuses_to_start_without_a_database_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL must be set"):
        load_settings(tmp_path, {"PORTAL_ENV": "production", "SECRET_KEY": "s" * 32})


def test_production_command_line_says_why_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portal", "check"],
        env={
            "PORTAL_ENV": "production",
            "PORTAL_INSTANCE_PATH": str(tmp_path),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "portal: SECRET_KEY must be set when PORTAL_ENV=production"


def test_production_settings_make_cookies_secure(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        {"PORTAL_ENV": "production", "SECRET_KEY": "k" * 64, "DATABASE_URL": "postgres://db/p"},
    )
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/p"
    assert not (tmp_path / "secret_key").exists()


def test_development_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_settings(tmp_path, {})["SECRET_KEY"]
    second = load_settings(tmp_path, {})["SECRET_KEY"]

    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_embedded_default_is_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"


def test_redis_url_is_used_for_shared_state(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_healthz_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    broken = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}",
        }
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "checks": {"database": "unreachable"}}


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers


def test_server_errors_render_the_500_page_in_the_viewers_language(tmp_path: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e.db'}"})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom")

    client = app.test_client()
    english = client.get("/boom", headers={"Accept-Language": "en"})
    japanese = client.get("/boom", headers={"Accept-Language": "ja"})

    assert english.status_code == japanese.status_code == 500
    assert "Something went wrong" in english.get_data(as_text=True)
    assert "エラーが発生しました" in japanese.get_data(as_text=True)


def test_static_files_are_served_from_the_top_level_folder(client: FlaskClient) -> None:
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert b"font-family" in response.data
    response.close()


def test_pages_load_nothing_from_other_hosts(client: FlaskClient, network: None) -> None:
    html = client.get("/").get_data(as_text=True)
    assert "//fonts." not in html and "cdn" not in html.lower()
    assert 'src="http' not in html and 'href="http' not in html.split("<main")[0]


def test_seed_command_is_idempotent(app: Flask) -> None:
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed"])
    second = runner.invoke(args=["seed"])

    assert first.exit_code == 0 and "Seeded 8 organizations, 6 MOUs" in first.output
    assert second.exit_code == 0 and "already up to date" in second.output
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 8


def test_check_command_reports_a_migrated_database(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert "schema:      at head" in result.output
    assert result.output.strip().endswith("ok")


def test_seed_command_leaves_no_claimable_service_without_instructions(app: Flask) -> None:
    from portal.organizations.models import ReciprocalService

    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0
    # A database seeded before the seed wrote instructions.
    db.session.execute(
        ReciprocalService.__table__.update().values(
            redemption_instructions_en="", redemption_instructions_ja=""
        )
    )
    db.session.commit()

    result = runner.invoke(args=["seed"])

    assert result.exit_code == 0, result.output
    assert "wrote the instructions of 20" in result.output
    db.session.expire_all()
    lacking = db.session.scalars(
        select(ReciprocalService.id).where(
            ReciprocalService.claimable.is_(True),
            (ReciprocalService.redemption_instructions_en == "")
            | (ReciprocalService.redemption_instructions_ja == ""),
        )
    ).all()
    assert lacking == []


def test_the_served_app_carries_no_migration_tooling(tmp_path: Path) -> None:
    """``portal.wsgi:app`` (what gunicorn serves) answers pages without Flask-Migrate, Alembic
    or the command line loaded, with what starting built kept out of the collector's passes;
    ``create_app()`` keeps the tooling for ``portal db`` and tests."""
    script = (
        "import gc, sys\n"
        "from portal.wsgi import app\n"
        "answer = app.test_client().get('/events/')\n"
        "tooling = ('alembic', 'mako', 'flask_migrate', 'portal.cli')\n"
        "print(answer.status_code, 'migrate' in app.extensions, "
        "sorted(m for m in tooling if m in sys.modules), gc.get_freeze_count() > 100_000)\n"
    )
    environment = {"PORTAL_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "portal", "db", "upgrade"],
        env=environment,
        capture_output=True,
        timeout=120,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.split("\n")[-2:] == ["200 False [] True", ""], result.stderr[-2000:]


def test_the_tooling_app_has_migrations_and_commands(app: Flask) -> None:
    assert "migrate" in app.extensions
    assert {"db", "seed", "check"} <= set(app.cli.list_commands(None))  # type: ignore[arg-type]
