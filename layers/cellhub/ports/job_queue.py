"""The job-queue port: SQS semantics that the SQS adapter and the local SQLite adapter share.

Delivery is at-least-once. A received message is hidden from other consumers for its
visibility timeout; unless the consumer deletes it (the ack) in time, it becomes visible
again and is delivered once more with a higher ``receive_count``. Consumers therefore keep
their work idempotent and extend the visibility (``change_visibility``) while they work.

Rules every adapter keeps, taken from SQS so that the AWS adapter stays thin:

- **Receipt handles.** Every receive issues a new handle. ``change_visibility`` with any
  handle but the latest, or after the message's visibility has run out, raises
  ``StaleReceipt``. ``delete`` with the latest handle acks; ``delete`` of a message that is
  already gone (deleted, purged, dead-lettered) is a silent no-op so that acks can be
  retried; ``delete`` with an older handle of a message that was received again raises
  ``StaleReceipt`` (SQS itself cannot report that case; see the contract tests).
- **Deduplication.** A ``deduplication_id`` seen on the same queue in the last
  ``DEDUPLICATION_WINDOW_SECONDS`` is accepted but not enqueued again; the first message's
  id is returned (SQS FIFO content-deduplication window).
- **Dead-lettering.** A queue with a dead-letter queue and ``max_receives`` moves a message
  that would be received for the ``max_receives + 1``-th time to the dead-letter queue
  instead, with its id, body and ``sent_at`` kept and its receive count reset (an SQS redrive
  policy). Without a dead-letter queue a message is redelivered without limit.
- **Limits** are SQS's, checked by the functions below before anything is written, so the
  local adapter never accepts what SQS would refuse.

Times (``sent_at``, ``first_received_at``) are seconds since the Unix epoch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from cellhub.errors import InvalidParameter

MAX_BATCH = 10
MAX_RECEIVE_MESSAGES = 10
MAX_BODY_BYTES = 256 * 1024
MAX_DELAY_SECONDS = 15 * 60
MAX_VISIBILITY_TIMEOUT = 12 * 60 * 60
MAX_WAIT_SECONDS = 20
DEDUPLICATION_WINDOW_SECONDS = 5 * 60


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    message_id: str
    body: str
    # Pass this, not the message id, to ``change_visibility`` and ``delete``.
    receipt_handle: str
    # SQS ApproximateReceiveCount: 1 on the first delivery.
    receive_count: int
    sent_at: float
    first_received_at: float


@dataclass(frozen=True, slots=True)
class QueueDepth:
    visible: int
    # Received and not yet deleted, still inside their visibility timeout.
    in_flight: int
    # Sent with ``delay_seconds`` and not yet deliverable.
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


class JobQueue(Protocol):
    """One queue. Methods are safe to call from several threads and processes at once."""

    def send(
        self, body: str, *, delay_seconds: int = 0, deduplication_id: str | None = None
    ) -> str:
        """Enqueue ``body``; return its message id (the original's for a deduplicated send)."""
        ...

    def send_batch(self, bodies: Sequence[str]) -> list[str]:
        """Enqueue every body, in chunks of ``MAX_BATCH``; return the ids in input order."""
        ...

    def receive(
        self,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_seconds: float = 0,
    ) -> list[ReceivedMessage]:
        """Claim up to ``max_messages`` visible messages, hiding them for the visibility timeout.

        ``visibility_timeout`` None uses the queue's default. With ``wait_seconds`` > 0 the
        call blocks until at least one message is visible or the time is up (long polling);
        it may return fewer than ``max_messages`` even when more are queued.
        """
        ...

    def change_visibility(self, receipt_handle: str, timeout_seconds: int) -> None:
        """Hide the message for ``timeout_seconds`` from now; 0 makes it visible at once."""
        ...

    def delete(self, receipt_handle: str) -> None:
        """Acknowledge the message: it is never delivered again."""
        ...

    def depth(self) -> QueueDepth:
        """Approximate counts, as SQS reports them."""
        ...

    def purge(self) -> None:
        """Delete every message, in flight or not. Deduplication ids stay remembered."""
        ...


def check_body(body: str) -> None:
    size = len(body.encode("utf-8"))
    if not 0 < size <= MAX_BODY_BYTES:
        raise InvalidParameter(
            f"message body must be 1..{MAX_BODY_BYTES} bytes of UTF-8", size=size
        )


def check_delay(delay_seconds: int) -> None:
    if not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
        raise InvalidParameter(
            f"delay_seconds must be 0..{MAX_DELAY_SECONDS}", delay_seconds=delay_seconds
        )


def check_visibility_timeout(timeout_seconds: int) -> None:
    if not 0 <= timeout_seconds <= MAX_VISIBILITY_TIMEOUT:
        raise InvalidParameter(
            f"visibility timeout must be 0..{MAX_VISIBILITY_TIMEOUT} s",
            timeout_seconds=timeout_seconds,
        )


def check_receive(max_messages: int, wait_seconds: float) -> None:
    if not 1 <= max_messages <= MAX_RECEIVE_MESSAGES:
        raise InvalidParameter(
            f"max_messages must be 1..{MAX_RECEIVE_MESSAGES}", max_messages=max_messages
        )
    if not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
        raise InvalidParameter(
            f"wait_seconds must be 0..{MAX_WAIT_SECONDS}", wait_seconds=wait_seconds
        )


def in_batches(bodies: Sequence[str]) -> Iterator[Sequence[str]]:
    """Split ``bodies`` into the chunks one SQS SendMessageBatch call accepts."""
    for start in range(0, len(bodies), MAX_BATCH):
        yield bodies[start : start + MAX_BATCH]
