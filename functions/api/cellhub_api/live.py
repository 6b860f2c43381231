"""The embedded hub's notifier: an in-process registry of live WebSocket connections.

Each connection belongs to one user and subscribes to project ids. ``publish`` may run on
any thread (the worker pumps publish from theirs): it serialises the event once, picks the
subscribed connections under a lock, and hands the JSON to each connection's event loop with
``loop.call_soon_threadsafe``; it never waits on a client and never raises.

Every connection has a bounded outbox. When a slow client lets it fill, the oldest event is
dropped and the client's next message is ``{"type": "resync"}``: it has missed something and
re-reads the REST API, which is the source of truth (events are only hints).

A ``MembershipChanged`` event whose role is ``None`` (the user left or was removed) drops
that user's subscriptions to the project before delivery, so nothing more reaches them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass, field

from cellhub.domain.events import LiveEvent, MembershipChanged, event_json

RESYNC = json.dumps({"type": "resync"})
DEFAULT_OUTBOX_SIZE = 256


@dataclass(eq=False)
class LiveConnection:
    """One client's connection: who it is, what it follows, and its pending messages.

    The outbox is touched only on ``loop``'s thread; ``projects`` only under the registry lock.
    """

    id: str
    user_id: str
    loop: asyncio.AbstractEventLoop
    outbox: asyncio.Queue[str]
    projects: set[str] = field(default_factory=set)
    missed_events: bool = False
    closed: bool = False

    def deliver(self, text: str) -> None:
        """Queue ``text``, dropping the oldest message when full (loop thread only)."""
        if self.closed:
            return
        if self.outbox.full():
            self.outbox.get_nowait()
            self.missed_events = True
        self.outbox.put_nowait(text)

    async def next_message(self) -> str:
        """The next text to send: ``RESYNC`` first whenever events were dropped."""
        if self.missed_events:
            self.missed_events = False
            return RESYNC
        return await self.outbox.get()


class LiveConnections:
    """The notifier over this process's WebSocket connections; ``publish`` is thread-safe."""

    def __init__(self, *, outbox_size: int = DEFAULT_OUTBOX_SIZE) -> None:
        if outbox_size < 1:
            raise ValueError("outbox_size must be at least 1")
        self._outbox_size = outbox_size
        self._lock = threading.Lock()
        self._connections: dict[str, LiveConnection] = {}
        self._ids = itertools.count(1)

    def connect(self, user_id: str, loop: asyncio.AbstractEventLoop) -> LiveConnection:
        """Register a connection for ``user_id`` whose messages are read on ``loop``."""
        with self._lock:
            connection = LiveConnection(
                id=f"ws-{next(self._ids)}",
                user_id=user_id,
                loop=loop,
                outbox=asyncio.Queue(maxsize=self._outbox_size),
            )
            self._connections[connection.id] = connection
        return connection

    def disconnect(self, connection_id: str) -> None:
        with self._lock:
            connection = self._connections.pop(connection_id, None)
        if connection is not None:
            connection.closed = True

    def subscribe(self, connection_id: str, project_id: str) -> None:
        with self._lock:
            connection = self._connections.get(connection_id)
            if connection is not None:
                connection.projects.add(project_id)

    def unsubscribe(self, connection_id: str, project_id: str) -> None:
        with self._lock:
            connection = self._connections.get(connection_id)
            if connection is not None:
                connection.projects.discard(project_id)

    def subscriptions(self, connection_id: str) -> frozenset[str]:
        with self._lock:
            connection = self._connections.get(connection_id)
            return frozenset(connection.projects) if connection else frozenset()

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def publish(self, event: LiveEvent) -> None:
        """Hand ``event`` to every connection subscribed to its project, from any thread."""
        text = event_json(event)
        with self._lock:
            if isinstance(event, MembershipChanged) and event.role is None:
                for connection in self._connections.values():
                    if connection.user_id == event.user_id:
                        connection.projects.discard(event.project_id)
            targets = [c for c in self._connections.values() if event.project_id in c.projects]
        for connection in targets:
            try:
                connection.loop.call_soon_threadsafe(connection.deliver, text)
            except RuntimeError:
                # The connection's loop has closed; its handler's cleanup will unregister it.
                continue
