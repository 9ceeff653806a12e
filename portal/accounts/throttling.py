"""Throttling sign-in so that it stops attackers, not owners (rule 16).

The per-request limits are Flask-Limiter's (``accounts.views``): failures per account and
address, failures per address, and successes per address counted apart with a much higher
limit. This module keeps what a limit cannot say: which accounts are under attack, i.e. see
many failures from many addresses. Such an account is never locked; signing in to it then
takes a one-time link mailed to the owner (``sessions.MAILED_LINK``), and the owner is told by
mail once per window.

The counts live in Flask-Limiter's storage, so they are shared by every process through Redis
when REDIS_URL is set; while Redis is away Flask-Limiter counts in each process's memory, and
so do these (a call that fails is logged once and counted in this process).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import current_app
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, RateLimiter

from portal.accounts.models import Person
from portal.audit.services import record
from portal.extensions import db, limiter
from portal.notifications.services import mail_person

log = logging.getLogger(__name__)

_local = FixedWindowRateLimiter(MemoryStorage())
_away = threading.Event()
#: Large enough never to be reached: these items only count.
_COUNT_ONLY = 1_000_000


def _window() -> int:
    return int(current_app.config["LOGIN_ATTACK_WINDOW_MINUTES"])


def _counter() -> RateLimitItem:
    return RateLimitItemPerMinute(_COUNT_ONLY, _window())


def _once() -> RateLimitItem:
    return RateLimitItemPerMinute(1, _window())


def _call(work: Callable[[RateLimiter], bool | int]) -> bool | int:
    """Run ``work`` on the limiter's strategy (Redis, or its in-memory fallback while Flask-
    Limiter knows Redis is away), or on this process's own memory when the call fails."""
    try:
        result = work(limiter.limiter)
    except Exception as error:  # noqa: BLE001 - whatever the storage raised, count locally
        if not _away.is_set():
            _away.set()
            log.warning("sign-in throttling: storage unreachable, counting in memory (%s)", error)
        return work(_local)
    _away.clear()
    return result


def _key(*parts: str) -> list[str]:
    return [current_app.config.get("RATELIMIT_KEY_PREFIX", "portal"), "signin", *parts]


def _count(item: RateLimitItem, *parts: str) -> int:
    def used(strategy: RateLimiter) -> int:
        stats = strategy.get_window_stats(item, *_key(*parts))
        return item.amount - stats.remaining

    return int(_call(used))


def _hit(item: RateLimitItem, *parts: str) -> bool:
    return bool(_call(lambda strategy: strategy.hit(item, *_key(*parts))))


def under_attack(account: str) -> bool:
    """Whether ``account`` (a normalized address) saw many failures from many addresses in
    the current window: signing in to it then takes a mailed link."""
    config = current_app.config
    return (
        _count(_counter(), "failures", account) >= config["LOGIN_ATTACK_FAILURES"]
        and _count(_counter(), "addresses", account) >= config["LOGIN_ATTACK_ADDRESSES"]
    )


def note_failure(account: str, address: str, person: Person | None) -> None:
    """Count a failed sign-in on ``account`` from ``address``. When that makes the account
    under attack, its owner (``person``, when the account exists) is told by mail and the
    audit log says the mailed-link step is now required, both once per window."""
    if not account:
        return
    _hit(_counter(), "failures", account)
    if _hit(_once(), "seen", account, address):  # the first failure from this address
        _hit(_counter(), "addresses", account)
    if person is None or not under_attack(account) or not _hit(_once(), "told", account):
        return
    mail_person(
        person,
        "accounts/sign_in_attack",
        window_minutes=_window(),
        link_minutes=current_app.config["SIGN_IN_LINK_MINUTES"],
    )
    record(
        "session.link_step_required",
        actor=None,
        subject_type="person",
        subject_id=person.id,
        failures=_count(_counter(), "failures", account),
        addresses=_count(_counter(), "addresses", account),
        window_minutes=_window(),
    )
    db.session.commit()


def may_mail_link(account: str) -> bool:
    """At most three sign-in links per account and window, however often the right password
    is typed (by an attacker who has it, the owner would otherwise be flooded)."""
    return _hit(RateLimitItemPerMinute(3, _window()), "links", account)
