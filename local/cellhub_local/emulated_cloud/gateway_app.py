"""The loopback gateway: HTTP API, WebSocket API and management API on one ASGI app.

Routes, first match wins:

- ``/<stage>/@connections/{id}``: the management API (``CELLHUB_WEBSOCKET_ENDPOINT`` is
  ``<base>/<stage>``);
- ``/ws``: the WebSocket API, where the web client looks for live status;
- ``GET``/``HEAD`` of a file of the web client (``web/``, ``index.html`` for a folder): the
  file, as CloudFront serves the client from S3 in the cloud;
- anything else: the HTTP API, i.e. the API function.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route, WebSocketRoute

from cellhub_api.web_client import WEB_DIR
from cellhub_local.emulated_cloud.http_gateway import http_api_endpoint
from cellhub_local.emulated_cloud.lambda_runtime import LocalFunction
from cellhub_local.emulated_cloud.management_api import management_endpoint
from cellhub_local.emulated_cloud.websocket_gateway import (
    STAGE,
    ConnectionRegistry,
    websocket_endpoint,
)

_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Gateway:
    app: FastAPI
    connections: ConnectionRegistry


def web_file(web_dir: Path, path: str) -> Path | None:
    """The file of the web client that ``path`` names, or None (never outside ``web_dir``)."""
    root = web_dir.resolve()
    candidate = (root / path.lstrip("/")).resolve()
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None


def create_gateway(
    api: LocalFunction, websocket: LocalFunction, *, web_dir: Path | None = WEB_DIR
) -> Gateway:
    """The gateway in front of the ``api`` and ``websocket`` functions."""
    connections = ConnectionRegistry()
    to_api = http_api_endpoint(api)

    async def http_api(request: Request) -> Response:
        if web_dir is not None and request.method in ("GET", "HEAD"):
            found = web_file(web_dir, request.url.path)
            if found is not None:
                return FileResponse(found)
        response: Response = await to_api(request)
        return response

    # A bare FastAPI (no docs routes) so that ``cellhub_local.loopback.serving`` serves it.
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        routes=[
            Route(
                f"/{STAGE}/@connections/{{connection_id}}",
                management_endpoint(connections),
                methods=["GET", "POST", "DELETE"],
            ),
            WebSocketRoute("/ws", websocket_endpoint(websocket, connections)),
            Route("/{path:path}", http_api, methods=_METHODS),
        ],
    )
    return Gateway(app=app, connections=connections)
