"""Serving an app on 127.0.0.1 in a background thread: for tests, benchmarks and notebooks.

``cellhub serve`` runs uvicorn in the foreground; code that wants the same server next to
its own work (a client under test, a benchmark's load generator) uses :func:`serving`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(
    app: FastAPI, port: int, *, log_level: str = "warning", start_timeout: float = 30.0
) -> Iterator[str]:
    """Serve ``app`` on ``127.0.0.1:port`` until the block ends; yields its base URL.

    Raises ``TimeoutError`` when the server has not started within ``start_timeout``
    seconds; on leaving, the server is asked to stop and its thread joined.
    """
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise TimeoutError(f"the server on port {port} did not start")
            time.sleep(0.05)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(start_timeout)
