"""Per-member limits and code pools under simultaneous claims and approvals (PostgreSQL only).

Several requests act at the same moment, each in its own app context and so its own database
connection. ``claim_benefit`` and ``approve_claim`` lock the service's row before counting
claims and picking a code; behind the lock, each live claim holds a numbered place of its
period, which a unique index keeps to one claim. The control tests first prove that, without
the lock, the same schedule really lets every request past the count (and really collides on
one code), so the tests that follow mean something: the lock serialises the requests, and the
index alone still writes one claim per place.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.accounts.models import Person
from portal.benefits import eligibility as rules
from portal.benefits import services
from portal.benefits.eligibility import NotEligible, Reason
from portal.benefits.models import BenefitClaim, BenefitCode, ClaimStatus
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.locking import Busy
from portal.organizations.models import ReciprocalService
from tests.factories import add_claim, add_codes, add_member, add_service
from tests.roles import Story

pytestmark = pytest.mark.usefixtures("postgres_only")

#: Long enough that every request counts before any of them inserts.
COUNT_TO_INSERT_DELAY = 0.3


@pytest.fixture
def slow_count(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Widen the window between reading claims and codes and writing the claim."""
    load_facts = rules.load_facts

    def slow(*args: Any, **kwargs: Any) -> rules.ClaimFacts:
        facts = load_facts(*args, **kwargs)
        threading.Event().wait(COUNT_TO_INSERT_DELAY)
        return facts

    monkeypatch.setattr(rules, "load_facts", slow)
    yield


@pytest.fixture
def without_the_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "lock_rows", lambda table, ids: None)


@pytest.fixture
def count_together(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Without the lock: make ``n`` requests each count before any of them writes, for sure
    (each waits for the others after reading the claims)."""

    def arrange(n: int) -> None:
        everyone_counted = threading.Barrier(n)
        counts = itertools.count()
        load_facts = rules.load_facts

        def counted(*args: Any, **kwargs: Any) -> rules.ClaimFacts:
            facts = load_facts(*args, **kwargs)
            # Only the first count of each request waits; one after a refusal goes on.
            if next(counts) < n:
                everyone_counted.wait(timeout=10)
            return facts

        monkeypatch.setattr(rules, "load_facts", counted)

    return arrange


@pytest.fixture
def checks_passed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Person ids of the eligibility verdicts that let a claim through to its insert."""
    passed: list[int] = []
    check = rules.eligibility

    def counting(person: Person, *args: Any, **kwargs: Any) -> rules.Eligibility:
        verdict = check(person, *args, **kwargs)
        if verdict.eligible:
            passed.append(person.id)
        return verdict

    monkeypatch.setattr(services, "eligibility", counting)
    return passed


def at_once(app: Flask, count: int, act: Callable[[int], object]) -> list[Any]:
    """Run ``act(n)`` for n < count in threads released together; each outcome is "granted",
    "approved", a refusal's Reason, "busy", "taken", or an unexpected exception."""
    start = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(n: int) -> None:
        with app.app_context():
            try:
                start.wait(timeout=10)
                outcomes[n] = act(n)
            except NotEligible as refused:
                outcomes[n] = refused.reason
            except Busy:
                outcomes[n] = "busy"
            except InvalidTransition:
                outcomes[n] = "taken"
            except BaseException as error:  # noqa: BLE001 - reported to the test thread
                outcomes[n] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


def claim_as(person_ids: list[int], service_id: int) -> Callable[[int], str]:
    def act(n: int) -> str:
        person = db.session.get(Person, person_ids[n])
        service = db.session.get(ReciprocalService, service_id)
        assert person is not None and service is not None
        claim = services.claim_benefit(person, service)
        return "granted" if claim.status == ClaimStatus.APPROVED else claim.status

    return act


def claims_on(service_id: int, *states: ClaimStatus) -> int:
    db.session.expire_all()
    query = select(func.count(BenefitClaim.id)).where(BenefitClaim.service_id == service_id)
    if states:
        query = query.where(BenefitClaim.status.in_([s.value for s in states]))
    return db.session.scalar(query) or 0


def codes_given(service_id: int) -> list[tuple[str, int | None]]:
    """(code, how many claims hold it) of every code a claim holds."""
    db.session.expire_all()
    return list(
        db.session.execute(
            select(BenefitClaim.code, func.count(BenefitClaim.id))
            .where(BenefitClaim.service_id == service_id, BenefitClaim.code.is_not(None))
            .group_by(BenefitClaim.code)
        ).all()
    )


@pytest.fixture
def once_a_year(story: Story) -> tuple[int, int]:
    """(Taro's id, a service granted at once, limited to one claim a year)."""
    service = add_service(
        "link-j-biocom-2016", "biocom", title_en="Tour of a member lab", limit_per_member=1
    )
    ids = (story.taro.id, service.id)
    db.session.close()  # hold no connection or snapshot while the threads run
    return ids


# --- the per-member limit -------------------------------------------------------------------


@pytest.mark.usefixtures("without_the_lock")
def test_control_without_the_lock_both_claims_pass_the_count_and_only_the_index_stops_one(
    app: Flask,
    once_a_year: tuple[int, int],
    count_together: Callable[[int], None],
    checks_passed: list[int],
) -> None:
    taro_id, service_id = once_a_year
    count_together(2)

    outcomes = at_once(app, 2, claim_as([taro_id, taro_id], service_id))

    assert checks_passed == [taro_id, taro_id]  # the race is real: both were let through
    assert sorted(map(str, outcomes)) == ["granted", Reason.LIMIT_REACHED.value]
    assert claims_on(service_id) == 1


@pytest.mark.usefixtures("slow_count")
@pytest.mark.parametrize("requests", [2, 5])
def test_simultaneous_claims_against_a_once_a_year_limit_grant_exactly_one(
    app: Flask, once_a_year: tuple[int, int], requests: int
) -> None:
    taro_id, service_id = once_a_year

    outcomes = at_once(app, requests, claim_as([taro_id] * requests, service_id))

    assert sorted(map(str, outcomes)) == ["granted"] + [Reason.LIMIT_REACHED.value] * (requests - 1)
    assert claims_on(service_id) == 1
    assert claims_on(service_id, ClaimStatus.APPROVED) == 1


# --- a one-off service: no limit, granted at once -------------------------------------------


@pytest.fixture
def one_off(story: Story) -> tuple[int, int]:
    """(Taro's id, a service with no limit, granted at once: each member claims it once)."""
    service = add_service(
        "link-j-ucsd-2016",
        "ucsd",
        category="publications",
        title_en="UCSD annual report",
        redemption_instructions_en="Download it with the link in this mail.",
        redemption_instructions_ja="このメールのリンクからダウンロードしてください。",
    )
    ids = (story.taro.id, service.id)
    db.session.close()
    return ids


@pytest.mark.usefixtures("slow_count")
@pytest.mark.parametrize("requests", [2, 5])
def test_simultaneous_claims_on_a_one_off_service_grant_exactly_one(
    app: Flask, one_off: tuple[int, int], requests: int
) -> None:
    taro_id, service_id = one_off

    outcomes = at_once(app, requests, claim_as([taro_id] * requests, service_id))

    assert sorted(map(str, outcomes)) == ["granted"] + [Reason.LIMIT_REACHED.value] * (requests - 1)
    assert claims_on(service_id) == 1


@pytest.mark.usefixtures("without_the_lock")
def test_without_the_lock_the_database_still_writes_one_claim_on_a_one_off_service(
    app: Flask,
    one_off: tuple[int, int],
    count_together: Callable[[int], None],
    checks_passed: list[int],
) -> None:
    taro_id, service_id = one_off
    count_together(5)

    outcomes = at_once(app, 5, claim_as([taro_id] * 5, service_id))

    assert checks_passed == [taro_id] * 5  # every request was let through to its insert
    assert sorted(map(str, outcomes)) == ["granted"] + [Reason.LIMIT_REACHED.value] * 4
    assert claims_on(service_id) == 1
    db.session.expire_all()
    claim = db.session.scalar(select(BenefitClaim).where(BenefitClaim.service_id == service_id))
    assert claim is not None and (claim.period, claim.slot) == ("ever", 1)


# --- the code pool --------------------------------------------------------------------------


@pytest.fixture
def pool_of_three(story: Story) -> tuple[list[int], int]:
    """(ids of five LINK-J members, a service granted at once from a pool of three codes)."""
    service = add_service(
        "link-j-one-nucleus-2017",
        "one-nucleus",
        title_en="Genesis early-bird code",
        redemption="code_pool",
    )
    add_codes(service, "EB-1", "EB-2", "EB-3")
    people = [story.taro.id] + [add_member("link-j")[0].id for _ in range(4)]
    ids = (people, service.id)
    db.session.close()
    return ids


@pytest.mark.usefixtures("slow_count", "without_the_lock")
def test_control_without_the_lock_simultaneous_claims_collide_on_one_code(
    app: Flask, pool_of_three: tuple[list[int], int]
) -> None:
    people, service_id = pool_of_three

    outcomes = at_once(app, 3, claim_as(people[:3], service_id))

    # All three picked the first free code; only the conditional UPDATE stopped the
    # others from taking it too, and they had to be told to try again.
    assert outcomes.count("busy") >= 1
    assert all(held == 1 for _code, held in codes_given(service_id))


@pytest.mark.usefixtures("slow_count")
def test_simultaneous_claims_on_a_pool_give_each_code_to_exactly_one_claim(
    app: Flask, pool_of_three: tuple[list[int], int]
) -> None:
    people, service_id = pool_of_three

    outcomes = at_once(app, 5, claim_as(people, service_id))

    assert sorted(map(str, outcomes)) == ["granted"] * 3 + [Reason.NO_CODES_LEFT.value] * 2
    assert sorted(codes_given(service_id)) == [("EB-1", 1), ("EB-2", 1), ("EB-3", 1)]
    db.session.expire_all()
    pool = dict(
        db.session.execute(
            select(BenefitCode.code, BenefitCode.claim_id).where(
                BenefitCode.service_id == service_id
            )
        ).all()
    )
    granted = set(
        db.session.scalars(
            select(BenefitClaim.id).where(
                BenefitClaim.service_id == service_id,
                BenefitClaim.status == ClaimStatus.APPROVED.value,
            )
        )
    )
    assert set(pool.values()) == granted and len(granted) == 3


@pytest.mark.usefixtures("slow_count")
def test_simultaneous_approvals_never_give_one_code_twice(app: Flask, story: Story) -> None:
    service = story.member_rate  # needs approval; three codes ON-0001..3
    claimants = [story.taro] + [add_member("link-j")[0] for _ in range(3)]
    claim_ids = [add_claim(person, service).id for person in claimants]
    admin_id, service_id = story.one_nucleus_admin.id, service.id
    db.session.close()

    def approve(n: int) -> str:
        claim = db.session.get(BenefitClaim, claim_ids[n])
        admin = db.session.get(Person, admin_id)
        assert claim is not None and admin is not None
        services.approve_claim(claim, actor=admin)
        return "approved"

    outcomes = at_once(app, 4, approve)

    assert sorted(map(str, outcomes)) == ["approved"] * 3 + [Reason.NO_CODES_LEFT.value]
    assert sorted(codes_given(service_id)) == [("ON-0001", 1), ("ON-0002", 1), ("ON-0003", 1)]
    assert claims_on(service_id, ClaimStatus.REQUESTED) == 1
