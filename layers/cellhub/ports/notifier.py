"""The notifier port: push a live event to the connections of a project's members.

Publishing is best effort and never raises into the caller's work: a lost event costs a
client one re-sync from the REST API, while a failed publish must not fail a segmentation.
Adapters: API Gateway ``post_to_connection`` (410 Gone drops the connection) in the cloud,
an in-process registry of WebSocket connections in the embedded hub, and
:class:`RecordingNotifier` for tests and for runs with no one listening.
"""

from __future__ import annotations

import threading
from typing import Protocol

from cellhub.domain.events import LiveEvent


class Notifier(Protocol):
    def publish(self, event: LiveEvent) -> None:
        """Deliver ``event`` to every live connection subscribed to ``event.project_id``."""
        ...


class RecordingNotifier:
    """Keeps every published event in memory, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[LiveEvent] = []

    def publish(self, event: LiveEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[LiveEvent]:
        with self._lock:
            return list(self._events)
