"""One person search for every list searchable by person (the people page, the verification
queue, an event's registrations, payments)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import Person
from portal.accounts.search import person_matches
from portal.extensions import db
from tests.factories import add_person


def found(search: str) -> list[str]:
    matches = person_matches(search)
    query = select(Person.email).order_by(Person.email)
    if matches is not None:
        query = query.where(matches)
    return list(db.session.scalars(query))


@pytest.fixture
def people(network: None) -> None:
    yamada = add_person("taro@example.jp", family_name="山田", given_name="太郎")
    yamada.family_name_kana, yamada.given_name_kana = "ヤマダ", "タロウ"
    yamada.romanized_name = "Taro Yamada"
    add_person("hanako@example.jp", family_name="佐藤", given_name="花子")
    add_person("percent_100%@example.jp", family_name="Smith", given_name="Ann")
    db.session.commit()


@pytest.mark.parametrize(
    "search",
    ["山田 太郎", "太郎 山田", "Yamada Taro", "taro yamada", "ヤマダ", "TARO@", "  山田  "],
)
def test_a_person_is_found_by_any_of_their_names_in_any_order(people: None, search: str) -> None:
    assert found(search) == ["taro@example.jp"]


def test_every_word_must_match(people: None) -> None:
    assert found("山田 花子") == []


def test_percent_and_underscore_mean_themselves(people: None) -> None:
    assert found("100%") == ["percent_100%@example.jp"]
    assert found("_") == ["percent_100%@example.jp"]


def test_nothing_typed_means_no_condition(people: None) -> None:
    assert person_matches("   ") is None
    assert len(found("")) == 3
