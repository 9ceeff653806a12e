"""Generations read once per request (``portal.versions.read_generations``, issue 19): the
memos a request consults share one call to the store, and what the request itself commits
counts at once."""

from __future__ import annotations

import secrets

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from portal import versions
from portal.events.models import Event
from portal.extensions import db
from tests.factories import add_event, add_member, ticket
from tests.roles import login


class CountingStore(versions.MemoryStore):
    """The embedded store, recording each call for generations (one round trip to Redis each
    in production)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[list[str]] = []

    def generations(self, scopes: list[str]) -> list[int]:
        self.reads.append(list(scopes))
        return super().generations(scopes)


def test_pressing_register_asks_the_store_once(
    app: Flask, client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event's definition and who listens to webhooks are remembered under generations
    read in one call (two before: one per memo)."""
    store = CountingStore()
    monkeypatch.setitem(app.extensions, "versions", store)
    forum = add_event(capacity=50, tickets=({"audience": "linkj_member", "price": 0},))
    path = f"/events/{forum.slug}/register"
    form = {"ticket_type": str(ticket(forum, "linkj_member").id)}
    # The first press fills the memos (and tells this process which tables they read).
    for _press in range(2):
        member, _membership = add_member("link-j")
        login(client, member)
        store.reads.clear()
        answer = client.post(path, data=form)
        assert answer.status_code == 302, answer.text
        assert "/events/tickets/" in answer.headers["Location"]
    assert len(store.reads) == 1, store.reads
    assert {"t:event", "t:ticket_type", "t:webhook_endpoint"} <= set(store.reads[0])


def test_generations_are_read_again_after_the_requests_own_commit(
    app: Flask, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CountingStore()
    monkeypatch.setitem(app.extensions, "versions", store)
    forum = add_event(capacity=50, tickets=({"audience": "linkj_member", "price": 0},))
    with app.test_request_context("/"):
        [first] = versions.read_generations(store, ["t:event"])
        # Another process commits: this request keeps what it read (read before its rows).
        store.bump(["t:event"])
        assert versions.read_generations(store, ["t:event"]) == [first]
        assert len(store.reads) == 1
        # This request's own commit counts at once: what it wrote must not be served stale.
        db.session.get(Event, forum.id).title_en = "Renamed"  # type: ignore[union-attr]
        db.session.commit()
        assert versions.read_generations(store, ["t:event"]) == [first + 2]
    with app.test_request_context("/"):
        # Each request reads afresh, even where an application context outlives them.
        store.bump(["t:event"])
        assert versions.read_generations(store, ["t:event"]) == [first + 3]


def test_a_commit_of_the_request_makes_the_event_memo_read_the_rows_again(
    app: Flask, client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event's definition changed and committed earlier in the same request is read afresh
    from the database, not from the memo filled before the change."""
    from portal.events import queries

    store = CountingStore()
    monkeypatch.setitem(app.extensions, "versions", store)
    forum = add_event(capacity=50, tickets=({"audience": "linkj_member", "price": 0},))
    slug, forum_id = forum.slug, forum.id
    with app.test_request_context("/"):
        assert queries.event_by_slug(slug).title_en != "Renamed"  # type: ignore[union-attr]
        db.session.get(Event, forum_id).title_en = "Renamed"  # type: ignore[union-attr]
        db.session.commit()
        # Nothing left in the session that could answer from its identity map.
        db.session.expunge_all()
        assert queries.event_by_slug(slug).title_en == "Renamed"  # type: ignore[union-attr]


class BumpRecordingStore(versions.MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.bumped: list[set[str]] = []

    def bump(self, scopes):  # noqa: ANN001, ANN201
        self.bumped.append(set(scopes))
        return super().bump(scopes)


def test_registering_bumps_the_event_the_person_and_the_mail_queue(
    app: Flask, client: FlaskClient, network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same scopes whether the registrant's mail is queued by the registration's own
    statement (PostgreSQL: a WITH naming what it writes, ``WRITES_IN_WITH``) or by a second
    one (SQLite): the event's pages show a seat fewer, the person's their registration."""
    store = BumpRecordingStore()
    monkeypatch.setitem(app.extensions, "versions", store)
    forum = add_event(capacity=50, tickets=({"audience": "linkj_member", "price": 0},))
    member, _membership = add_member("link-j")
    login(client, member)
    store.bumped.clear()

    answer = client.post(
        f"/events/{forum.slug}/register",
        data={"ticket_type": str(ticket(forum, "linkj_member").id)},
    )

    assert answer.status_code == 302 and "/events/tickets/" in answer.headers["Location"]
    assert store.bumped == [
        {"t:registration", f"event:{forum.id}", f"person:{member.id}", "t:outbox_message"}
    ]


def test_a_bump_redis_did_not_take_is_sent_before_anything_is_read_again(redis_url: str) -> None:
    """A commit while Redis was away (a session ended, say) must not leave what was kept under
    the old generation good once Redis answers: the process that could not bump reads nothing
    until its bump is taken."""
    prefix = f"test:{secrets.token_hex(4)}:"
    here, elsewhere = versions.RedisStore(redis_url, prefix), versions.RedisStore(redis_url, prefix)
    [before] = elsewhere.generations(["account:7"])
    reachable = here._redis
    here._redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)

    assert here.bump(["account:7", "t:login_session"]) is False
    with pytest.raises(versions.StoreUnavailable):
        here.generations(["t:event"])  # nothing read, so nothing kept is trusted
    assert elsewhere.generations(["account:7"]) == [before]

    here._redis = reachable
    here.generations(["t:event"])
    assert elsewhere.generations(["account:7", "t:login_session"])[0] == before + 1
    assert here.bump(["t:event"]) is True  # owed once, sent once
    assert elsewhere.generations(["account:7"]) == [before + 1]


def test_bumps_owed_through_a_long_outage_become_one_bump_of_everything(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versions, "OWED_AT_MOST", 3)
    prefix = f"test:{secrets.token_hex(4)}:"
    here, elsewhere = versions.RedisStore(redis_url, prefix), versions.RedisStore(redis_url, prefix)
    [epoch] = elsewhere.generations([versions.EPOCH])
    reachable = here._redis
    here._redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    for person in range(5):
        assert here.bump([f"account:{person}"]) is False

    here._redis = reachable
    here.generations(["t:event"])
    assert elsewhere.generations([versions.EPOCH]) == [epoch + 1]


def lose_keys(redis_url: str, prefix: str) -> None:
    """What a Redis restarted with nothing on disk has of a store's keys: none."""
    with redis.Redis.from_url(redis_url) as client:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_a_redis_that_lost_its_keys_makes_nothing_kept_before_good_again(redis_url: str) -> None:
    """Generations read as 0 before (an event's definition kept under them), bumped, then
    lost with Redis's keys, must not read as the same 0 again: the epoch starts afresh at a
    random number, whether it is read or bumped first."""
    prefix = f"test:{secrets.token_hex(4)}:"
    store = versions.RedisStore(redis_url, prefix)
    kept = store.generations([versions.EPOCH, "t:event"])
    assert kept[1] == 0 and kept[0] > 0
    assert store.bump(["t:event"])

    lose_keys(redis_url, prefix)
    assert store.generations([versions.EPOCH, "t:event"]) != kept

    kept = store.generations([versions.EPOCH, "t:event"])
    lose_keys(redis_url, prefix)
    assert store.bump([versions.EPOCH])  # ``portal cache clear`` before anything is read
    [epoch] = store.generations([versions.EPOCH])
    assert epoch not in (kept[0], 1)
    assert store.generations([versions.EPOCH]) == [epoch]  # started once, then kept
