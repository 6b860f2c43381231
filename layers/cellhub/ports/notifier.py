"""The notifier port: push a live event to the connections of a project's members.

Publishing is best effort and never raises into the caller's work: a lost event costs a
client one re-sync from the REST API, while a failed publish must not fail a segmentation.
Adapters: API Gateway ``post_to_connection`` (410 Gone drops the connection) in the cloud,
an in-process registry of WebSocket connections in the embedded hub, and
:class:`RecordingNotifier` for tests and for runs with no one listening.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Protocol

from cellhub.domain.events import LiveEvent


class Notifier(Protocol):
    def publish(self, event: LiveEvent) -> None:
        """Deliver ``event`` to every live connection subscribed to ``event.project_id``."""
        ...


class RecordingNotifier:
    """Keeps the latest ``max_events`` published events in memory, in order; thread-safe.

    Bounded so a long-running process that nobody reads from does not grow without end.
    """

    def __init__(self, max_events: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._events: deque[LiveEvent] = deque(maxlen=max_events)

    def publish(self, event: LiveEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[LiveEvent]:
        with self._lock:
            return list(self._events)
