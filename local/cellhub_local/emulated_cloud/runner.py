"""Starts and stops the emulated cloud: moto, provisioning, the gateway, pumps and worker.

``emulated_cloud(...)`` is the whole thing as a context manager (what ``cellhub serve
--backend aws`` runs and what the end-to-end test drives); its parts are separate so a test
can set the environment its own way (``monkeypatch``) between ``provision`` and
``running``. The handlers build their clients once per "container" from the environment
(``lru_cache``); ``reset_handler_caches`` forgets them when the environment changes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import uvicorn

from cellhub_local.emulated_cloud.gateway_app import Gateway, create_gateway
from cellhub_local.emulated_cloud.lambda_runtime import LocalFunction
from cellhub_local.emulated_cloud.provision import DEFAULT_REGION, Provisioned, provision
from cellhub_local.emulated_cloud.pumps import SqsEventPump, worker_loop
from cellhub_local.emulated_cloud.websocket_gateway import STAGE
from cellhub_local.loopback import LOOPBACK, free_port

# Lambda runs without X-Ray here, and EMF metric lines would bury the server's output.
QUIET_POWERTOOLS = {"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true"}

MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass(frozen=True)
class EmulatedCloud:
    base_url: str
    websocket_url: str
    endpoint_url: str
    provisioned: Provisioned
    gateway: Gateway


@contextmanager
def moto_server(port: int | None = None) -> Iterator[str]:
    """moto's threaded server on loopback (a free port unless given); yields its URL."""
    from moto.server import ThreadedMotoServer

    port = port or free_port()
    requests_log = logging.getLogger("werkzeug")
    if requests_log.level == logging.NOTSET:
        # moto's server logs every request at INFO: hundreds of lines a minute.
        requests_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.stop()


def provision_for(endpoint_url: str, base_url: str, region: str = DEFAULT_REGION) -> Provisioned:
    """Provision for a gateway at ``base_url`` (its management API under the stage)."""
    return provision(
        endpoint_url, public_url=base_url, websocket_endpoint=f"{base_url}/{STAGE}", region=region
    )


def reset_handler_caches() -> None:
    """Forget every handler's cold-start state (clients, services, settings, the key)."""
    from cellhub.adapters.aws import wiring
    from cellhub.settings import get_settings
    from cellhub_api import handler as api
    from cellhub_api import websocket_handlers
    from cellhub_export import handler as export
    from cellhub_thumbnail import handler as thumbnail

    for cached in (
        api.asgi_adapter,
        websocket_handlers.live_gateway,
        thumbnail.thumbnail_service,
        export.export_service,
        wiring._secret_string,
        get_settings,
    ):
        cached.cache_clear()


@contextmanager
def running(
    provisioned: Provisioned, *, host: str = LOOPBACK, port: int, segment_workers: int = 1
) -> Iterator[EmulatedCloud]:
    """Serve the gateway on ``host:port`` and run the pumps and the worker until the block
    ends; the environment must already hold ``provisioned.env``."""
    from cellhub_api.handler import handler as api_handler
    from cellhub_api.websocket_handlers import handler as websocket_handler
    from cellhub_export.handler import handler as export_handler
    from cellhub_thumbnail.handler import handler as thumbnail_handler

    env = provisioned.env
    region = env["AWS_REGION"]
    functions = {
        "api": LocalFunction("cellhub-api", api_handler, region=region),
        "websocket": LocalFunction("cellhub-websocket", websocket_handler, region=region),
        "thumbnail": LocalFunction("cellhub-thumbnail", thumbnail_handler, region=region),
        "export": LocalFunction("cellhub-export", export_handler, region=region, timeout_s=900),
    }
    gateway = create_gateway(functions["api"], functions["websocket"])
    sqs = boto3.client("sqs", region_name=region, endpoint_url=env["CELLHUB_AWS_ENDPOINT_URL"])
    pumps = [
        SqsEventPump(
            functions["thumbnail"], provisioned.thumbnail_queue_url, sqs=sqs, region=region
        ),
        SqsEventPump(functions["export"], env["CELLHUB_EXPORT_QUEUE_URL"], sqs=sqs, region=region),
    ]
    loops = [worker_loop() for _ in range(segment_workers)]
    threads: list[threading.Thread] = list(pumps)
    threads += [
        threading.Thread(target=loop.run, name=f"gpu-worker-{n}", daemon=True)
        for n, loop in enumerate(loops)
    ]
    base_url = f"http://{host}:{port}"
    try:
        with _serving(gateway.app, host, port):
            for thread in threads:
                thread.start()
            try:
                yield EmulatedCloud(
                    base_url=base_url,
                    websocket_url=f"ws://{host}:{port}/ws",
                    endpoint_url=env["CELLHUB_AWS_ENDPOINT_URL"],
                    provisioned=provisioned,
                    gateway=gateway,
                )
            finally:
                for pump in pumps:
                    pump.stop()
                for loop in loops:
                    loop.stop()
                for thread in threads:
                    if thread.is_alive():
                        thread.join(30)
    finally:
        for function in functions.values():
            function.shutdown()


@contextmanager
def emulated_cloud(
    *,
    endpoint_url: str | None = None,
    host: str = LOOPBACK,
    port: int | None = None,
    segment_workers: int = 1,
    environ: Any = os.environ,
) -> Iterator[EmulatedCloud]:
    """The whole emulated cloud; without ``endpoint_url``, on a moto server of its own.

    The provisioned environment (and ``QUIET_POWERTOOLS`` where not set) is written into
    ``environ`` for the life of the block and taken out again after.
    """
    port = port or free_port()
    # moto takes any credentials, but boto3 refuses to sign without some.
    defaults = {**QUIET_POWERTOOLS, **(MOTO_CREDENTIALS if endpoint_url is None else {})}
    missing = {name: value for name, value in defaults.items() if name not in environ}
    with _environment(environ, missing), _endpoint(endpoint_url) as endpoint:
        provisioned = provision_for(endpoint, f"http://{host}:{port}")
        with _environment(environ, provisioned.env):
            reset_handler_caches()
            try:
                with running(
                    provisioned, host=host, port=port, segment_workers=segment_workers
                ) as cloud:
                    yield cloud
            finally:
                reset_handler_caches()


def serve(
    *,
    host: str,
    port: int,
    endpoint_url: str | None = None,
    segment_workers: int = 1,
    demo: bool = False,
) -> int:
    """``cellhub serve --backend aws``: run until interrupted, printing where things are."""
    with emulated_cloud(
        endpoint_url=endpoint_url, host=host, port=port, segment_workers=segment_workers
    ) as cloud:
        if demo:
            from cellhub.adapters.aws.wiring import AwsResources
            from cellhub_api.cloud_services import build_cloud_services
            from cellhub_local.demo import ensure_demo

            account = ensure_demo(build_cloud_services(AwsResources.from_env()))
            print(f"demo account: {account.email} / {account.password}")
        print(f"Cell Segmentation Hub (emulated cloud) on {cloud.base_url}")
        print(f"  WebSocket API   {cloud.websocket_url}?token=<access token>")
        print(f"  AWS endpoint    {cloud.endpoint_url}")
        print("  environment of the handlers and the worker:")
        for name, value in sorted(cloud.provisioned.env.items()):
            print(f"    {name}={value}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping")
    return 0


@contextmanager
def _endpoint(endpoint_url: str | None) -> Iterator[str]:
    if endpoint_url is not None:
        yield endpoint_url
        return
    with moto_server() as started:
        yield started


@contextmanager
def _environment(environ: Any, values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: environ.get(name) for name in values}
    environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value


class _DenialIsNotAnError(logging.Filter):
    """uvicorn's websockets-sansio protocol (0.54) logs this after every denial response,
    i.e. every refused ``$connect``, although the denial was sent; the gateway's WebSocket
    endpoint never returns without accepting or denying, so the line is always spurious."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


_DENIAL_FILTER = _DenialIsNotAnError()


@contextmanager
def _serving(app: Any, host: str, port: int, start_timeout: float = 30.0) -> Iterator[None]:
    # ``cellhub_local.loopback.serving`` binds 127.0.0.1 only; ``serve --host`` may differ.
    logging.getLogger("uvicorn.error").addFilter(_DENIAL_FILTER)  # added once
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"gateway-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise TimeoutError(f"the gateway on port {port} did not start")
            time.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        thread.join(start_timeout)
