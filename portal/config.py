"""Settings from the environment, with embedded defaults for a laptop.

Production (``PORTAL_ENV=production``) refuses to start on defaults that are only safe on a
developer's machine: a generated secret key or a SQLite file.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: The longest any call to Redis may take: the portal works without it (rate limits in each
#: process's memory, pages rendered afresh), so waiting longer only makes pages slow.
REDIS_TIMEOUT_SECONDS = 0.5


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable portal; the message says why in one line."""


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the driver the portal ships with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret_key(instance_path: Path) -> str:
    # Generated once and kept, so sessions survive restarts without anyone inventing a key.
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _number(environ: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if value is None or not value.strip():
        return default
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigurationError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


Environ = os._Environ[str] | dict[str, str]


def load_settings(instance_path: Path, environ: Environ) -> dict[str, Any]:
    """Build the Flask config from environment variables, one concern at a time.

    Raises ConfigurationError in production when SECRET_KEY or DATABASE_URL is missing.
    """
    env = environ.get("PORTAL_ENV", "development").strip().lower()
    production = env == "production"
    settings: dict[str, Any] = {"PORTAL_ENV": env}
    for section in (
        _core_settings,
        _database_settings,
        _redis_settings,
        _password_settings,
        _cookie_settings,
        _throttling_settings,
        _mail_settings,
        _stripe_settings,
        _invoice_settings,
        _second_factor_settings,
        _api_settings,
    ):
        settings.update(section(instance_path, environ, production))
    return settings


def _core_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    secret_key = environ.get("SECRET_KEY")
    if production and not secret_key:
        raise ConfigurationError("SECRET_KEY must be set when PORTAL_ENV=production")
    return {
        "SECRET_KEY": secret_key or _development_secret_key(instance_path),
        #: Uploads (rosters, code pools) are read into memory: refuse anything larger.
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "SERVER_NAME": environ.get("SERVER_NAME") or None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "PORTAL_LOCALES": ("en", "ja"),
        "PORTAL_TRUST_PROXY": _bool(environ.get("PORTAL_TRUST_PROXY"), default=production),
        #: Links in mail point here; set it to the public address in production.
        "PORTAL_BASE_URL": environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
    }


def _database_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    database_url = environ.get("DATABASE_URL")
    if production and not database_url:
        raise ConfigurationError("DATABASE_URL must be set when PORTAL_ENV=production")
    if not database_url:
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'portal.sqlite3'}"
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        #: How long any statement waits for a row lock (PostgreSQL) before giving up.
        "LOCK_TIMEOUT_SECONDS": float(environ.get("LOCK_TIMEOUT_SECONDS", "3")),
        #: psycopg prepares a statement on a connection once it has run five times there
        #: (PostgreSQL then keeps its plan). Off only behind a pooler that cannot keep prepared
        #: statements per client (PgBouncer in transaction mode before 1.21).
        "DATABASE_PREPARED_STATEMENTS": _bool(
            environ.get("DATABASE_PREPARED_STATEMENTS"), default=True
        ),
    }


def _redis_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    redis_url = environ.get("REDIS_URL") or None
    # Several processes must agree on page-cache generations: Redis when there is one; the
    # single-process embedded default keeps them in memory; production without Redis: none.
    page_cache_url = environ.get("PAGE_CACHE_URL")
    if page_cache_url is None:
        page_cache_url = redis_url or ("" if production else "memory://")
    if page_cache_url.strip().lower() in ("", "off", "none", "0"):
        page_cache_url = ""
    return {
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Redis away must not refuse sign-ins and registrations: each process counts in its
        # own memory (flask-limiter logs one warning) and asks Redis again after 1, 2, 4…
        # at most 32 seconds, on a limited request. Errors still left (a deduction made
        # after the request) are logged, not answered with a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A Redis that does not answer (a network partition, not a refused connection) must
        # not hold a web worker for the kernel's TCP timeout on every limited request.
        "RATELIMIT_STORAGE_OPTIONS": (
            {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            }
            if redis_url
            else {}
        ),
        "RATELIMIT_HEADERS_ENABLED": False,  # Retry-After on a 429 only (register_errorhandlers)
        "RATELIMIT_KEY_PREFIX": "portal",
        "PAGE_CACHE_URL": page_cache_url,
        #: Seconds a cached page may live: bounds what only time changes (a membership lapsing).
        "PAGE_CACHE_TTL": int(environ.get("PAGE_CACHE_TTL", "60")),
        "PAGE_CACHE_CHECK_SCOPES": False,
        #: Parts of pages kept per process by what they print (portal.fragments); 0: none.
        "FRAGMENT_MEMO_SIZE": int(environ.get("FRAGMENT_MEMO_SIZE", "4096")),
        #: Server-Timing on every response (the benchmarks read it); off: it tells timings.
        "PORTAL_SERVER_TIMING": _bool(environ.get("PORTAL_SERVER_TIMING")),
    }


def _password_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    return {
        #: Argon2id's cost for new password hashes: iterations, and memory in KiB. The portal
        #: refuses to start below OWASP's minimum (2 and 19 MiB) unless it is under test.
        "PASSWORD_HASH_TIME_COST": int(environ.get("PASSWORD_HASH_TIME_COST", "2")),
        "PASSWORD_HASH_MEMORY_COST": int(environ.get("PASSWORD_HASH_MEMORY_COST", "19456")),
    }


def _cookie_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        # Rule 15: each sign-in is a session record living at most this long idle and in all;
        # "stay logged in" gives it the longer pair; partner admins, staff and admins get at
        # most the privileged pair. The remember cookie lasts no longer than its record may.
        "SESSION_IDLE_MINUTES": _number(environ, "SESSION_IDLE_MINUTES", 120),
        "SESSION_MAX_HOURS": _number(environ, "SESSION_MAX_HOURS", 12),
        "REMEMBER_IDLE_DAYS": _number(environ, "REMEMBER_IDLE_DAYS", 14),
        "REMEMBER_MAX_DAYS": _number(environ, "REMEMBER_MAX_DAYS", 30),
        "PRIVILEGED_SESSION_IDLE_MINUTES": _number(environ, "PRIVILEGED_SESSION_IDLE_MINUTES", 30),
        "PRIVILEGED_SESSION_MAX_HOURS": _number(environ, "PRIVILEGED_SESSION_MAX_HOURS", 8),
        "REMEMBER_COOKIE_DURATION": timedelta(days=_number(environ, "REMEMBER_MAX_DAYS", 30)),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    }


def _throttling_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    # Rule 16: limits that stop guessing, not the people behind one office's address.
    # Limits are Flask-Limiter strings ("N per M minutes; K per day").
    return {
        "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS": environ.get(
            "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", "5 per 15 minutes; 20 per day"
        ),
        "LOGIN_FAILURES_PER_ADDRESS": environ.get(
            "LOGIN_FAILURES_PER_ADDRESS", "60 per 15 minutes; 300 per day"
        ),
        "LOGIN_SUCCESSES_PER_ADDRESS": environ.get(
            "LOGIN_SUCCESSES_PER_ADDRESS", "600 per 15 minutes; 3000 per day"
        ),
        #: An account that sees this many failures from at least LOGIN_ATTACK_ADDRESSES
        #: addresses within LOGIN_ATTACK_WINDOW_MINUTES asks for a mailed sign-in link.
        "LOGIN_ATTACK_FAILURES": _number(environ, "LOGIN_ATTACK_FAILURES", 10),
        "LOGIN_ATTACK_ADDRESSES": _number(environ, "LOGIN_ATTACK_ADDRESSES", 3),
        "LOGIN_ATTACK_WINDOW_MINUTES": _number(environ, "LOGIN_ATTACK_WINDOW_MINUTES", 60),
        "SIGN_IN_LINK_MINUTES": _number(environ, "SIGN_IN_LINK_MINUTES", 15),
        "REGISTRATIONS_PER_ADDRESS": environ.get(
            "REGISTRATIONS_PER_ADDRESS", "60 per hour; 300 per day"
        ),
        "RESET_REQUESTS_PER_ADDRESS": environ.get("RESET_REQUESTS_PER_ADDRESS", "30 per hour"),
    }


def _mail_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    return {
        "MAIL_SERVER": environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(environ.get("MAIL_USE_TLS")),
        "MAIL_DEFAULT_SENDER": environ.get(
            "MAIL_DEFAULT_SENDER", "LINK-J Portal <portal@link-j.org>"
        ),
    }


def _stripe_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    return {
        "STRIPE_SECRET_KEY": environ.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": environ.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": environ.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": environ.get("STRIPE_API_BASE") or None,
        #: Seconds any one call to Stripe may take (to connect, and between bytes of the answer)
        #: before the portal gives up: a person is waiting, and a web worker with them.
        "STRIPE_TIMEOUT_SECONDS": float(environ.get("STRIPE_TIMEOUT_SECONDS", "5")),
        #: Network retries for calls nobody waits on (the reconcile job) and staff refunds;
        #: calls made while a payer waits, or while locks are held, are never retried.
        "STRIPE_NETWORK_RETRIES": int(environ.get("STRIPE_NETWORK_RETRIES", "2")),
        #: Stripe.js must come from Stripe; tests point it at localstripe's copy.
        "STRIPE_JS_URL": environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        "PAYMENT_HOLD_MINUTES": int(environ.get("PAYMENT_HOLD_MINUTES", "30")),
    }


def _invoice_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    registration_number = environ.get("INVOICE_REGISTRATION_NUMBER")
    if registration_number and not re.fullmatch(r"T\d{13}", registration_number):
        raise ConfigurationError("INVOICE_REGISTRATION_NUMBER must be T followed by 13 digits")
    return {
        "INVOICE_ISSUER_NAME": environ.get(
            "INVOICE_ISSUER_NAME",
            "一般社団法人ライフサイエンス・イノベーション・ネットワーク・ジャパン",
        ),
        #: 適格請求書発行事業者登録番号, "T" and 13 digits; invoices are refused without it.
        #: A placeholder outside production so the demo can issue invoices.
        "INVOICE_REGISTRATION_NUMBER": registration_number
        or (None if production else "T0000000000000"),
        "INVOICE_ISSUER_ADDRESS": environ.get(
            "INVOICE_ISSUER_ADDRESS", "〒103-0023 東京都中央区日本橋本町"
        ),
        #: Where invoices ask to be paid; invoices are refused without it. A placeholder
        #: outside production, plainly not an account, so the demo can issue invoices.
        "INVOICE_BANK_ACCOUNT": (environ.get("INVOICE_BANK_ACCOUNT") or "").strip()
        or ("" if production else "デモ銀行 日本橋支店 普通 0000000（デモ用・振込不可）"),
        "INVOICE_DUE_DAYS": int(environ.get("INVOICE_DUE_DAYS", "14")),
        "DUES_DUE_DAYS": int(environ.get("DUES_DUE_DAYS", "30")),
    }


def _second_factor_settings(
    instance_path: Path, environ: Environ, production: bool
) -> dict[str, Any]:
    required_from = environ.get("TWO_FACTOR_REQUIRED_FROM") or None
    if required_from and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", required_from):
        raise ConfigurationError("TWO_FACTOR_REQUIRED_FROM must be a date, YYYY-MM-DD")
    base_url = environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000")
    # Browsers refuse an IP address as a passkey's relying party: a laptop's
    # http://127.0.0.1:5000 becomes http://localhost:5000 (the same server).
    parts = urlsplit(base_url)
    host = parts.hostname or "localhost"
    if host == "127.0.0.1":
        host = "localhost"
        parts = parts._replace(netloc=parts.netloc.replace("127.0.0.1", "localhost"))
    return {
        #: Second factors (rule 17). A privileged person without one reaches the management
        #: pages for this many days after the upgrade that brought them (or their role grant,
        #: if later), and at least until this date (UTC) when it is set; then only enrolment.
        "TWO_FACTOR_GRACE_DAYS": int(environ.get("TWO_FACTOR_GRACE_DAYS", "14")),
        "TWO_FACTOR_REQUIRED_FROM": required_from,
        #: Sensitive actions ask for a factor again when the last one is older than this.
        "TWO_FACTOR_STEP_UP_MINUTES": int(environ.get("TWO_FACTOR_STEP_UP_MINUTES", "10")),
        "WEBAUTHN_RP_ID": environ.get("WEBAUTHN_RP_ID") or host,
        "WEBAUTHN_ORIGIN": environ.get("WEBAUTHN_ORIGIN") or f"{parts.scheme}://{parts.netloc}",
        "WEBAUTHN_RP_NAME": environ.get("WEBAUTHN_RP_NAME") or "LINK-J Partner Portal",
    }


def _api_settings(instance_path: Path, environ: Environ, production: bool) -> dict[str, Any]:
    return {
        #: Requests per API key (Flask-Limiter's notation), counted where the limiter counts.
        "API_RATE_LIMIT": environ.get("API_RATE_LIMIT", "600 per minute"),
        #: A roster PUT with more records than this becomes a job for ``portal api jobs``.
        "API_ROSTER_SYNC_ROWS": int(environ.get("API_ROSTER_SYNC_ROWS", "2000")),
    }
