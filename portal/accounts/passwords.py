"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import contextlib
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from portal.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 128

# OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
#: Verified against when the account does not exist, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


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
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _spend_time(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _spend_time(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
