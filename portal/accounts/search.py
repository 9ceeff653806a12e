"""Finding people by what staff type: one rule for every list that can be searched by person.

Each word typed must match somewhere: a name (family, given, their furigana, the name in Latin
letters), the email address, the affiliation, or one of the list's own columns (a member
number, a registration code, an invoice number). So "山田 太郎", "Yamada Taro", "taro@" and
"ヤマダ" all find 山田 太郎, whichever order the words come in.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_

from portal.accounts.models import Person

#: What a person is found by, besides the list's own columns.
PERSON_COLUMNS = (
    Person.email_normalized,
    Person.family_name,
    Person.given_name,
    Person.family_name_kana,
    Person.given_name_kana,
    Person.romanized_name,
    Person.affiliation,
)


def _escaped(word: str) -> str:
    # A typed % or _ means itself, not "anything".
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def person_matches(search: str, *also: ColumnElement[str]) -> ColumnElement[bool] | None:
    """The condition for ``search`` over the joined ``Person`` (and ``also``), or None when
    nothing was typed. Case-insensitive; each word must match one column."""
    words = search.split()
    if not words:
        return None
    columns = [*PERSON_COLUMNS, *also]
    return and_(
        *(
            or_(*(func.lower(c).like(f"%{_escaped(w.lower())}%", escape="\\") for c in columns))
            for w in words
        )
    )
