"""Everything the API adds to the app, for the factory to call once."""

from __future__ import annotations

from flask import Flask

# The operations register themselves on the blueprint when imported.
from portal.api import (  # noqa: F401
    claims,
    document,
    events,
    memberships,
    network,
    roster,
    webhook_pages,
)
from portal.api.blueprint import PREFIX, answers_as_api, api
from portal.api.document import openapi_document
from portal.api.management import blueprint as management


def register(app: Flask) -> None:
    answers_as_api(app)
    app.register_blueprint(api)
    app.register_blueprint(management)


__all__ = ["PREFIX", "openapi_document", "register"]
