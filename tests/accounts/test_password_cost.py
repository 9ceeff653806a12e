"""The cost of password hashes comes from the settings, and never drops below OWASP's minimum
outside the test suite."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from flask import Flask

from portal import create_app
from portal.accounts import passwords
from portal.config import ConfigurationError


def portal_with(**settings: object) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", **settings})


def test_a_portal_hashes_at_owasps_minimum_by_default() -> None:
    with portal_with().app_context():
        parameters = extract_parameters(passwords.hash_password("Nihonbashi-honcho-2-3-11"))

    assert (parameters.type.name, parameters.time_cost, parameters.memory_cost) == (
        "ID",
        2,
        19 * 1024,
    )


def test_a_stronger_cost_is_used_and_older_hashes_are_upgraded_at_sign_in() -> None:
    with portal_with().app_context():
        older = passwords.hash_password("Nihonbashi-honcho-2-3-11")
    with portal_with(PASSWORD_HASH_TIME_COST=3, PASSWORD_HASH_MEMORY_COST=20 * 1024).app_context():
        stronger = passwords.hash_password("Nihonbashi-honcho-2-3-11")

        assert passwords.verify_password(older, "Nihonbashi-honcho-2-3-11")
        assert passwords.needs_rehash(older)
        assert not passwords.needs_rehash(stronger)
    assert extract_parameters(stronger).time_cost == 3


@pytest.mark.parametrize(("time_cost", "memory_cost"), [(1, 19 * 1024), (2, 19 * 1024 - 1), (1, 8)])
def test_a_cost_below_owasps_minimum_is_refused_outside_tests(
    time_cost: int, memory_cost: int
) -> None:
    with pytest.raises(ConfigurationError, match="OWASP's minimum"):
        portal_with(PASSWORD_HASH_TIME_COST=time_cost, PASSWORD_HASH_MEMORY_COST=memory_cost)


def test_the_test_suite_may_hash_cheaply(app: Flask) -> None:
    parameters = extract_parameters(passwords.hash_password("Nihonbashi-honcho-2-3-11"))

    assert (parameters.time_cost, parameters.memory_cost) == (1, 8)
    assert passwords.verify_password(
        passwords.hash_password("Nihonbashi-honcho-2-3-11"), "Nihonbashi-honcho-2-3-11"
    )
    assert not passwords.verify_password(None, "Nihonbashi-honcho-2-3-11")
