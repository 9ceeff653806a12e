"""Keys and callers of the API's tests: a partner admin, a key made by the same service the
management page calls, and an HTTP client that sends it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.accounts.models import Person, Role
from portal.api.keys import create_key
from portal.api.models import Scope
from tests.factories import add_person, add_role, org

ALL_SCOPES = [scope.value for scope in Scope]


_numbers = itertools.count(1)


def admin_of(slug: str) -> Person:
    person = add_person(f"officer{next(_numbers)}@{slug}.example.org")
    return add_role(person, Role.PARTNER_ADMIN, org(slug))


def key_for(person: Person, slug: str, scopes: list[str] | None = None) -> str:
    return create_key(org(slug), actor=person, name="CRM", scopes=scopes or ALL_SCOPES).secret


@dataclass
class Caller:
    """An HTTP client that sends one API key."""

    client: FlaskClient
    secret: str
    language: str = "en"

    def headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.secret}",
            "Accept-Language": self.language,
            **(extra or {}),
        }

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> TestResponse:
        return self.client.get("/api/v1" + path, headers=self.headers(headers), **kw)

    def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> TestResponse:
        return self.client.post(
            "/api/v1" + path, json=json if json is not None else {}, headers=self.headers(headers)
        )

    def put(self, path: str, json: Any, headers: dict[str, str] | None = None) -> TestResponse:
        return self.client.put("/api/v1" + path, json=json, headers=self.headers(headers))
