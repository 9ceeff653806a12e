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


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_settings(
    instance_path: Path, environ: os._Environ[str] | dict[str, str]
) -> dict[str, Any]:
    """Build the Flask config from environment variables.

    Raises ConfigurationError in production when SECRET_KEY or DATABASE_URL is missing.
    """
    env = environ.get("PORTAL_ENV", "development").strip().lower()
    production = env == "production"
    secret_key = environ.get("SECRET_KEY")
    database_url = environ.get("DATABASE_URL")
    if production and not secret_key:
        raise ConfigurationError("SECRET_KEY must be set when PORTAL_ENV=production")
    if production and not database_url:
        raise ConfigurationError("DATABASE_URL must be set when PORTAL_ENV=production")
    registration_number = environ.get("INVOICE_REGISTRATION_NUMBER")
    if registration_number and not re.fullmatch(r"T\d{13}", registration_number):
        raise ConfigurationError("INVOICE_REGISTRATION_NUMBER must be T followed by 13 digits")
    if not database_url:
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'portal.sqlite3'}"
    redis_url = environ.get("REDIS_URL") or None
    # Several processes must agree on page-cache generations: Redis when there is one; the
    # single-process embedded default keeps them in memory; production without Redis: none.
    page_cache_url = environ.get("PAGE_CACHE_URL")
    if page_cache_url is None:
        page_cache_url = redis_url or ("" if production else "memory://")
    if page_cache_url.strip().lower() in ("", "off", "none", "0"):
        page_cache_url = ""

    return {
        "PORTAL_ENV": env,
        "SECRET_KEY": secret_key or _development_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        #: How long any statement waits for a row lock (PostgreSQL) before giving up.
        "LOCK_TIMEOUT_SECONDS": float(environ.get("LOCK_TIMEOUT_SECONDS", "3")),
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
        "PAGE_CACHE_URL": page_cache_url,
        #: Seconds a cached page may live: bounds what only time changes (a membership lapsing).
        "PAGE_CACHE_TTL": int(environ.get("PAGE_CACHE_TTL", "60")),
        "PAGE_CACHE_CHECK_SCOPES": False,
        #: Argon2id's cost for new password hashes: iterations, and memory in KiB. The portal
        #: refuses to start below OWASP's minimum (2 and 19 MiB) unless it is under test.
        "PASSWORD_HASH_TIME_COST": int(environ.get("PASSWORD_HASH_TIME_COST", "2")),
        "PASSWORD_HASH_MEMORY_COST": int(environ.get("PASSWORD_HASH_MEMORY_COST", "19456")),
        "RATELIMIT_HEADERS_ENABLED": False,  # Retry-After on a 429 only (register_errorhandlers)
        "RATELIMIT_KEY_PREFIX": "portal",
        #: Uploads (rosters, code pools) are read into memory: refuse anything larger.
        "MAX_CONTENT_LENGTH": 4 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "SERVER_NAME": environ.get("SERVER_NAME") or None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "PORTAL_LOCALES": ("en", "ja"),
        "PORTAL_TRUST_PROXY": _bool(environ.get("PORTAL_TRUST_PROXY"), default=production),
        "MAIL_SERVER": environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(environ.get("MAIL_USE_TLS")),
        "MAIL_DEFAULT_SENDER": environ.get(
            "MAIL_DEFAULT_SENDER", "LINK-J Portal <portal@link-j.org>"
        ),
        #: Links in mail point here; set it to the public address in production.
        "PORTAL_BASE_URL": environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000"),
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
        "INVOICE_ISSUER_NAME": environ.get(
            "INVOICE_ISSUER_NAME",
            "一般社団法人ライフサイエンス・イノベーション・ネットワーク・ジャパン",
        ),
        #: 適格請求書発行事業者登録番号, "T" and 13 digits; invoices are refused without it.
        #: A placeholder outside production so the demo can issue invoices.
        "INVOICE_REGISTRATION_NUMBER": environ.get("INVOICE_REGISTRATION_NUMBER")
        or (None if production else "T0000000000000"),
        "INVOICE_ISSUER_ADDRESS": environ.get(
            "INVOICE_ISSUER_ADDRESS", "〒103-0023 東京都中央区日本橋本町"
        ),
        #: Where invoices ask to be paid; invoices are refused without it. A placeholder
        #: outside production, plainly not an account, so the demo can issue invoices.
        "INVOICE_BANK_ACCOUNT": (environ.get("INVOICE_BANK_ACCOUNT") or "").strip()
        or ("" if production else "デモ銀行 日本橋支店 普通 0000000（デモ用・振込不可）"),
        "INVOICE_DUE_DAYS": int(environ.get("INVOICE_DUE_DAYS", "14")),
    }
