"""The one place where the error tree becomes HTTP: status by error class, one JSON shape.

Every error body is ``{"error": {"code": ..., "message": ..., "details": {...}}}`` so a
client branches on ``code``, never on prose. Unexpected exceptions become a 500 with code
``internal`` and no internals in the body (they are logged with the request id).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cellhub import errors

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[errors.CellhubError], int], ...] = (
    (errors.UploadTooLarge, 413),
    (errors.InputNotFound, 404),
    (errors.NotFound, 404),
    (errors.InvalidInput, 422),
    (errors.ImageError, 422),
    (errors.AuthenticationError, 401),
    (errors.AccessDenied, 403),
    (errors.PermissionDenied, 403),
    (errors.Conflict, 409),
    (errors.RateLimited, 429),
)


# Errors raised by the framework itself, e.g. a body that is not decodable JSON (400).
_HTTP_CODES = {400: "invalid_request", 404: "not_found"}


def status_for(error: errors.CellhubError) -> int:
    return next((status for cls, status in STATUS_BY_ERROR if isinstance(error, cls)), 500)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def install_error_handlers(app: FastAPI) -> None:
    """Map the error tree, validation errors and stray HTTP errors to the one shape."""

    @app.exception_handler(errors.CellhubError)
    async def on_cellhub_error(request: Request, exc: errors.CellhubError) -> JSONResponse:
        status = status_for(exc)
        headers = {}
        if isinstance(exc, errors.RateLimited):
            headers["Retry-After"] = str(int(exc.details.get("retry_after", 1)))
        if isinstance(exc, errors.AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        details = {k: v for k, v in exc.details.items() if _is_plain(v)}
        return JSONResponse(error_body(exc.code, exc.reason, details), status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"location": list(e.get("loc", ())), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        body = error_body("invalid_request", "the request is malformed", {"problems": problems})
        return JSONResponse(body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal", "an internal error occurred"), 500)


def _is_plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | tuple)
