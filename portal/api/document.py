"""The OpenAPI 3.1 document at ``/api/v1/openapi.json`` and its reference page, both built
from the operations flask-openapi3 collected from the blueprint (no CDN, no JavaScript)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import json, render_template
from flask_openapi3.models import APISpec, Components, Info, SecurityScheme, Server
from flask_openapi3.utils import get_model_schema
from werkzeug.wrappers import Response

from portal.api.blueprint import PREFIX, api
from portal.api.problems import MEDIA_TYPE, Problem

METHODS = ("get", "put", "post", "delete", "patch")


@cache
def openapi_document() -> dict[str, Any]:
    """The document, built once per process (the operations are fixed at import)."""
    components = dict(api.components_schemas)
    problem_schema = get_model_schema(Problem)
    for name, definition in problem_schema.pop("$defs", {}).items():
        components[name] = definition
    components["Problem"] = problem_schema
    spec = APISpec(
        openapi="3.1.0",
        info=Info(
            title="LINK-J Partner Portal API",
            version="1.0.0",
            description=(
                "The partners' API of the LINK-J portal. Authenticate with an API key created "
                "under Administration → API keys: `Authorization: Bearer <key>`. Errors are "
                "`application/problem+json` (RFC 9457) in the language of `Accept-Language`. "
                "POST honours `Idempotency-Key` (24 hours); reads carry an `ETag`."
            ),
        ),
        servers=[Server(url="/")],
        paths=api.paths,
        components=Components(
            schemas=components,
            securitySchemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearerFormat="lkj_…")
            },
        ),
    )
    document = spec.model_dump(mode="json", by_alias=True, exclude_unset=True, warnings=False)
    for item in document["paths"].values():
        for method in METHODS:
            operation = item.get(method)
            if operation is not None:
                _problems_are_problem_json(operation)
    return document


def _problems_are_problem_json(operation: dict[str, Any]) -> None:
    """flask-openapi3 writes every response as application/json; errors are problem+json."""
    for status, response in operation.get("responses", {}).items():
        content = response.get("content") or {}
        if int(status) >= 400:
            schema = (content.get("application/json") or {}).get("schema") or {
                "$ref": "#/components/schemas/Problem"
            }
            response["content"] = {MEDIA_TYPE: {"schema": schema}}
    operation["responses"].setdefault(
        "422",
        {
            "description": "Unprocessable Content",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    )


def operations() -> list[dict[str, Any]]:
    """The operations in document order, for the reference page."""
    listed = []
    for path, item in openapi_document()["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            listed.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "id": operation.get("operationId", ""),
                    "tag": (operation.get("tags") or [""])[0],
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "body": _body_schema(operation),
                    "responses": sorted(operation.get("responses", {})),
                }
            )
    return listed


def _body_schema(operation: dict[str, Any]) -> str:
    content = (operation.get("requestBody") or {}).get("content") or {}
    schema = (content.get("application/json") or {}).get("schema") or {}
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


@api.route("/openapi.json", endpoint="openapi_document")
def serve_document() -> Response:
    return Response(json.dumps(openapi_document()), mimetype="application/json")


@api.route("/", endpoint="reference")
def reference() -> str:
    """A readable reference of every operation, rendered on the server from the document."""
    return render_template(
        "api/reference.html",
        document=openapi_document(),
        operations=operations(),
        prefix=PREFIX,
    )
