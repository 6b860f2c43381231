"""API Gateway's HTTP API on loopback: each request becomes a payload 2.0 Lambda event.

The event is the one the API's ``$default`` route integration sends (see AWS's "Working
with AWS Lambda proxy integrations for HTTP APIs"): header names lowercased and repeated
values joined by commas, cookies moved out of the headers into ``cookies``, query values
joined by commas, the body base64-encoded unless it is UTF-8 text of a textual content
type. The function's reply (``statusCode``, ``headers``, ``cookies``, ``body``,
``isBase64Encoded``) becomes the HTTP response; a handler that raises is a 500
``Internal Server Error``, and a body above the HTTP API's 10 MB limit is refused with 413
before any invocation, as API Gateway does.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cellhub_local.emulated_cloud.lambda_runtime import ACCOUNT_ID, LocalFunction

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 10 * 1024 * 1024
API_ID = "localhttp"
_TEXT_TYPES = ("text/", "application/json", "+json", "application/xml", "+xml", "javascript")
_FORM_TYPE = "application/x-www-form-urlencoded"


def request_time(now: float) -> str:
    """API Gateway's ``time`` text, e.g. ``24/Nov/2026:04:58:48 +0000``."""
    return datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def joined_headers(request: Request) -> dict[str, str]:
    """Header names lowercased, repeated values joined with commas, ``cookie`` left out."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        if name == "cookie":
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def is_text(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == _FORM_TYPE or any(marker in kind for marker in _TEXT_TYPES)


def http_api_event(request: Request, body: bytes, *, now: float | None = None) -> dict[str, Any]:
    """The payload 2.0 event of ``request`` with ``body``."""
    now = time.time() if now is None else now
    headers = joined_headers(request)
    query: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        query[name] = f"{query[name]},{value}" if name in query else value
    cookie_header = request.headers.get("cookie", "")
    domain = request.headers.get("host", request.url.netloc)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.url.path,
        "rawQueryString": request.url.query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": request.url.path,
                "protocol": f"HTTP/{request.scope.get('http_version', '1.1')}",
                "sourceIp": request.client.host if request.client else "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": "$default",
            "stage": "$default",
            "time": request_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    cookies = [part.strip() for part in cookie_header.split(";") if part.strip()]
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        try:
            text = body.decode("utf-8") if is_text(headers.get("content-type", "")) else None
        except UnicodeDecodeError:
            text = None
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    return event


def http_response(result: dict[str, Any]) -> Response:
    """The HTTP response API Gateway makes of a payload 2.0 function result."""
    body = result.get("body") or ""
    content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(content=content, status_code=int(result.get("statusCode", 200)))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.append(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.append("set-cookie", cookie)
    return response


def http_api_endpoint(function: LocalFunction) -> Any:
    """A Starlette endpoint that proxies every request to ``function``."""

    async def endpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_REQUEST_BYTES:
            return JSONResponse({"message": "Request Entity Too Large"}, status_code=413)
        try:
            result = await function.invoke_async(http_api_event(request, body))
        except Exception:
            log.exception("function %s failed", function.name)
            return JSONResponse({"message": "Internal Server Error"}, status_code=500)
        return http_response(result)

    return endpoint
