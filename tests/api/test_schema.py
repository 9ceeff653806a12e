"""Schemathesis against the API's own OpenAPI document: every operation, generated inputs,
no server error, every answer's status documented and its body matching the schema."""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from portal.api.web import openapi_document
from tests.api.callers import admin_of, key_for

#: Examples per operation: enough to reach each documented answer, within a CI minute.
EXAMPLES = 30
OPERATIONS = [
    (method, path) for path, item in openapi_document()["paths"].items() for method in item
]


@pytest.fixture
def secret(world) -> str:
    return key_for(admin_of("biocom"), "biocom")


@pytest.fixture(scope="module")
def api_schema(app: Flask) -> schemathesis.BaseSchema:
    """The document as the portal serves it, loaded once: it is the same for every operation,
    and schemathesis keeps on the loaded schema the literals it reads from the portal's source
    for its examples (reading them again for each operation was a fifth of this module's CPU).
    """
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m.upper()} {p}" for m, p in OPERATIONS]
)
def test_every_operation_keeps_its_document(
    api_schema: schemathesis.BaseSchema, secret: str, method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def keeps_its_document(case) -> None:
        # A schema-valid request may still break a rule (a validity end in the past, a claim
        # already decided): the portal answers 409/422 with the service's message, so the
        # "positive data is accepted" check does not apply; every other check does.
        case.call_and_validate(
            headers={"Authorization": f"Bearer {secret}"},
            excluded_checks=[positive_data_acceptance],
        )

    keeps_its_document()


def test_the_document_is_openapi_3_1_and_lists_every_operation(client, network) -> None:
    document = client.get("/api/v1/openapi.json").json

    assert document["openapi"] == "3.1.0"
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert len(operations) == 22
    assert ("PUT", "/api/v1/organizations/{slug}/roster") in operations


def test_the_reference_page_lists_the_operations(client, network) -> None:
    page = client.get("/api/v1/")

    assert page.status_code == 200
    assert "PUT" in page.text and "/api/v1/organizations/{slug}/roster" in page.text
    assert "cdn" not in page.text.lower()
