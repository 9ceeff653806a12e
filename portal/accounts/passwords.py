"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import contextlib
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app, has_app_context

from portal.config import ConfigurationError
from portal.errors import InvalidInput
from portal.language import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 128

#: OWASP's minimum for Argon2id: 2 iterations over 19 MiB, 1 lane. The portal never hashes
#: with less, except in its own test suite (TESTING), where the cost only slows the tests.
OWASP_TIME_COST = 2
OWASP_MEMORY_COST_KIB = 19 * 1024

_default_hasher = PasswordHasher(
    time_cost=OWASP_TIME_COST, memory_cost=OWASP_MEMORY_COST_KIB, parallelism=1
)


def init_app(app: Flask) -> None:
    """The hasher of ``PASSWORD_HASH_TIME_COST`` and ``PASSWORD_HASH_MEMORY_COST`` (KiB).

    Raises ConfigurationError for a cost below OWASP's minimum unless the app is TESTING.
    """
    time_cost = int(app.config["PASSWORD_HASH_TIME_COST"])
    memory_cost = int(app.config["PASSWORD_HASH_MEMORY_COST"])
    weak = time_cost < OWASP_TIME_COST or memory_cost < OWASP_MEMORY_COST_KIB
    if weak and not app.config.get("TESTING"):
        raise ConfigurationError(
            "PASSWORD_HASH_TIME_COST must be at least "
            f"{OWASP_TIME_COST} and PASSWORD_HASH_MEMORY_COST at least "
            f"{OWASP_MEMORY_COST_KIB} (KiB), OWASP's minimum for Argon2id"
        )
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    app.extensions["password_hasher"] = (hasher, hasher.hash("not a real password"))


def _hasher() -> PasswordHasher:
    return _configured()[0]


@cache
def _default_dummy_hash() -> str:
    return _default_hasher.hash("not a real password")


def _configured() -> tuple[PasswordHasher, str]:
    """The app's hasher and a hash to verify against when the account does not exist (so a
    login takes as long either way); OWASP's minimum outside an app."""
    if has_app_context() and "password_hasher" in current_app.extensions:
        return current_app.extensions["password_hasher"]
    return _default_hasher, _default_dummy_hash()


@cache
def common_passwords() -> frozenset[str]:
    text = files("portal.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password_policy(password: str, *, email: str = "") -> None:
    """Raise InvalidInput when the password is too short, too long, or commonly used."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            _("Use at least %(count)d characters for your password.", count=MIN_LENGTH)
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(
            _("Use at most %(count)d characters for your password.", count=MAX_LENGTH)
        )
    lowered = password.lower()
    if lowered in common_passwords() or (email and lowered == email.lower()):
        raise InvalidInput(
            _("This password is among the most common ones and easy to guess; choose another.")
        )
    if email and lowered == email.lower().partition("@")[0]:
        raise InvalidInput(_("Do not use your email address as your password."))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _spend_time(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _spend_time(password: str) -> None:
    with contextlib.suppress(VerificationError):
        hasher, dummy_hash = _configured()
        hasher.verify(dummy_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)
