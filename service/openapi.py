"""The OpenAPI schema as the service really behaves: its error shape, and security only when keys exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.errors import ERROR_DESCRIPTIONS, ErrorResponse

_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
# FastAPI's own 422 models, replaced by ErrorResponse everywhere.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install_openapi(
    app: FastAPI, open_mode: bool, limits: Callable[[dict[str, Any]], None] | None = None
) -> None:
    """Replace app.openapi with a builder that documents every error status a route can answer;
    `limits` writes this service's configured limits into the schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            if limits is not None:
                limits(schema)
            app.openapi_schema = _with_errors(schema, open_mode)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_errors(schema: dict[str, Any], open_mode: bool) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorResponse"] = error_schema
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    if open_mode:
        components.pop("securitySchemes", None)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            codes = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
            if "security" in operation:
                codes |= {403, 429} if open_mode else {401, 403, 429}
                if open_mode:
                    del operation["security"]
            if "requestBody" in operation or operation.get("parameters"):
                codes.add(422)
            if "requestBody" in operation:
                # Any body may be unreadable, and any body past the limit is refused while it streams.
                codes |= {400, 413}
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                codes.add(404)
            codes.add(500)
            for code in sorted(codes):
                responses[str(code)] = {
                    "description": ERROR_DESCRIPTIONS.get(code, "An error."),
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }
    return schema
