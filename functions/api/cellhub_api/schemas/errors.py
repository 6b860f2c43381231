"""The one error body every route may answer, documented once for the whole OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable code; branch on this, never on the message.")
    message: str = Field(description="A sentence for people.")
    details: dict[str, Any] = Field(default_factory=dict, description="Facts about the error.")


class ErrorResponse(BaseModel):
    """``{"error": {"code": ..., "message": ..., "details": {...}}}``."""

    error: ErrorDetail

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"error": {"code": "not_found", "message": "no such project", "details": {}}}
            ]
        }
    }


_WHEN = {
    400: "The body could not be parsed (`invalid_request`), e.g. JSON that does not decode.",
    401: "Missing, expired or invalid credentials (`WWW-Authenticate: Bearer`).",
    403: "The caller's role on the project does not allow this.",
    404: "No such object, or one the caller may not see.",
    409: "A conflict: a stale base version, a taken e-mail, the last owner leaving.",
    413: "The declared upload is larger than the hub accepts.",
    422: "The request or its input is malformed or unusable (`invalid_request`, `corrupt`...).",
    429: "Too many attempts; retry after `Retry-After` seconds.",
}

# Passed to every router, so each operation documents the error statuses it can answer.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in _WHEN.items()
}
