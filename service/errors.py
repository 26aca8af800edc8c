"""One error shape for every 4xx and 5xx: `{"error": {code, message, request_id}, "detail": message}`."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import ConcordError, Unavailable
from service.context import REQUEST_ID_HEADER, request_id_of

log = logging.getLogger("concord")

_BODY_HINT = 'send a UTF-8 JSON object such as {"question": "…", "top_k": 5}'

# The machine-readable code for each status, so a client can branch without parsing messages.
ERROR_CODES: dict[int, str] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "not_ready",
    507: "insufficient_storage",
}
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The request could not be read.",
    401: "A key is missing or wrong; send `Authorization: Bearer <key>`.",
    403: "The key is valid but may not do this (wrong role, or a widget key from another origin).",
    404: "No such document, variant or job.",
    409: "Already so: the variant is in that document already.",
    413: "Too large: a file, or a query body.",
    415: "Not a type the service reads.",
    422: "The request is well formed but a value is wrong; the message says which and how to fix it.",
    429: "Too many requests for this key; retry after `Retry-After` seconds.",
    500: "The service failed; the request id lets an operator find it in the logs.",
    503: "No index is loaded yet.",
    507: "The corpus folder cannot be written; nothing was stored.",
}


class ErrorBody(BaseModel):
    code: str = Field(description="Stable and machine-readable, e.g. invalid_request, rate_limited.")
    message: str = Field(description="What went wrong and what to change, in plain words.")
    request_id: str = Field(description="Also in the X-Request-ID header and in the service's log lines.")


class ErrorResponse(BaseModel):
    error: ErrorBody
    detail: str = Field(description="The message again, for clients that read FastAPI's usual `detail`.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": {
                        "code": "invalid_request",
                        "message": "question: question is empty; send the text of a question",
                        "request_id": "3f1c2a9e8d7b4c6a",
                    },
                    "detail": "question: question is empty; send the text of a question",
                }
            ]
        }
    }


class ApiError(HTTPException):
    """An HTTPException with its own error code (otherwise the code follows the status)."""

    def __init__(self, status_code: int, message: str, code: str, headers: dict[str, str] | None = None):
        super().__init__(status_code, detail=message, headers=headers)
        self.code = code


def error_response(
    request: Request, status_code: int, message: str, code: str | None = None, headers: dict | None = None
) -> JSONResponse:
    request_id = request_id_of(request)
    body = {
        "error": {
            "code": code
            or ERROR_CODES.get(status_code, "client_error" if status_code < 500 else "server_error"),
            "message": message,
            "request_id": request_id,
        },
        "detail": message,
    }
    return JSONResponse(body, status_code, headers={**(headers or {}), REQUEST_ID_HEADER: request_id})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 422, validation_message(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(jsonable_encoder(exc.detail))
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = f"the body could not be read (it is not UTF-8 text); {_BODY_HINT}"
        elif exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}; /docs lists the API"
        headers = exc.headers
        if exc.status_code == 405:
            allowed = allowed_methods(request) or (headers or {}).get("Allow", "").split(", ")
            message = f"{request.method} is not allowed on {request.url.path}; use {', '.join(allowed)}"
            # Starlette names only the first route that matched the path; a path may have several.
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return error_response(request, exc.status_code, message, getattr(exc, "code", None), headers)

    @app.exception_handler(ConcordError)
    async def _refused(request: Request, exc: ConcordError) -> JSONResponse:
        # Refusals were raised before anything changed and are the caller's to fix; an unavailable
        # store is the operator's, so it is logged too.
        if isinstance(exc, Unavailable):
            log.error("unavailable: %s", exc)
        elif exc.status >= 500:
            log.error("%s", exc)
        return error_response(request, exc.status, str(exc), exc.code)

    @app.exception_handler(Exception)
    async def _failed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request failed", extra={"path": request.url.path})
        return error_response(request, 500, "the service failed while answering; report the request id")


def allowed_methods(request: Request) -> list[str]:
    """The methods the API documents for this path (Starlette's own Allow names one route's only)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def validation_message(errors: Any) -> str:
    problems = []
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            problems.append(f"the body is not valid JSON ({reason}); {_BODY_HINT}")
            continue
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "; ".join(problems) or "invalid request"
