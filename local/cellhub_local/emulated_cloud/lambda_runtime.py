"""One warm Lambda container per function: invokes a handler as the Lambda runtime does.

Lambda hands a container one event at a time, so each ``LocalFunction`` runs its handler on
a single thread of its own; that thread has its own asyncio event loop, because Mangum runs
the ASGI app with ``asyncio.get_event_loop()`` as it does on Lambda's main thread. Each call
gets a fresh context object with the attributes Powertools reads (``function_name``,
``memory_limit_in_mb``, ``invoked_function_arn``, ``aws_request_id``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "123456789012"
Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LocalLambdaContext:
    """The parts of ``aws_lambda_powertools.utilities.typing.LambdaContext`` handlers use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    timeout_s: float = 30.0
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_s - (time.monotonic() - self.started)
        return max(0, int(left * 1000))


class LocalFunction:
    """``handler`` as the function ``name`` (alias ``live``), one event at a time."""

    def __init__(
        self, name: str, handler: Handler, *, region: str, timeout_s: float = 30.0
    ) -> None:
        self.name = name
        self._handler = handler
        self._arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}:live"
        self._timeout = timeout_s
        self._container = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"lambda-{name}", initializer=_own_event_loop
        )

    def context(self) -> LocalLambdaContext:
        return LocalLambdaContext(
            function_name=self.name,
            invoked_function_arn=self._arn,
            log_group_name=f"/aws/lambda/{self.name}",
            log_stream_name=f"local/[live]{uuid.uuid4().hex}",
            timeout_s=self._timeout,
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run the handler on the container's thread and wait for its result (or error)."""
        return self._container.submit(self._handler, event, self.context()).result()

    async def invoke_async(self, event: dict[str, Any]) -> Any:
        """``invoke`` from an event loop, without blocking it."""
        future = self._container.submit(self._handler, event, self.context())
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Wait for the event in hand, then close the container's thread and event loop."""
        self._container.submit(_close_event_loop).result()
        self._container.shutdown(wait=True, cancel_futures=True)


def _own_event_loop() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())


def _close_event_loop() -> None:
    asyncio.get_event_loop().close()
    asyncio.set_event_loop(None)
