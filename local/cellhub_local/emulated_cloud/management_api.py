"""The WebSocket API's management API: ``POST/GET/DELETE /<stage>/@connections/{id}``.

What boto3's ``apigatewaymanagementapi`` client calls at ``CELLHUB_WEBSOCKET_ENDPOINT``:
``PostToConnection`` delivers the request body to that socket, ``GetConnection`` describes
it, ``DeleteConnection`` closes it (its ``$disconnect`` follows). An id that is unknown or
already closed is answered 410 ``GoneException``, the answer the notifier drops connections
on. Like API Gateway's, the API takes only SigV4-signed requests (IAM auth): a request
without an ``AWS4-HMAC-SHA256`` authorization is a 403, so a browser cannot post to sockets.
The signature itself is not checked (the credentials are moto's), so only callers on this
machine (loopback) are served, even when the gateway listens on every interface.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cellhub_local.emulated_cloud.websocket_gateway import ConnectionRegistry

# API Gateway's limit on one posted message.
MAX_MESSAGE_BYTES = 128 * 1024


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"message": message}, status_code=status, headers={"x-amzn-ErrorType": error_type}
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (a test client's made-up host name)
        return False


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def management_endpoint(registry: ConnectionRegistry) -> Any:
    """A Starlette endpoint for the ``@connections/{connection_id}`` route."""

    async def endpoint(request: Request) -> Response:
        signed = request.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256")
        local = request.client is not None and _is_loopback(request.client.host)
        if not (signed and local):
            return _error(403, "ForbiddenException", "Forbidden")
        connection = registry.get(request.path_params["connection_id"])
        if connection is None:
            return _error(410, "GoneException", "")
        if request.method == "GET":
            return JSONResponse(
                {
                    "connectedAt": _iso(connection.connected_at),
                    "lastActiveAt": _iso(connection.last_active_at),
                    "identity": {
                        "sourceIp": connection.source_ip,
                        "userAgent": connection.user_agent,
                    },
                }
            )
        if request.method == "DELETE":
            registry.remove(connection.id)
            await connection.websocket.close()
            return Response(status_code=204)
        data = await request.body()
        if len(data) > MAX_MESSAGE_BYTES:
            return _error(413, "PayloadTooLargeException", "Message too long")
        try:
            await connection.send(data)
        except Exception:  # the socket closed under us: to the caller it is gone
            registry.remove(connection.id)
            return _error(410, "GoneException", "")
        return Response(status_code=200)

    return endpoint
