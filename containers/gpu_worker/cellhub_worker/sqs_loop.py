"""The GPU worker process on ECS: long-poll the segment queue and run the segmentation step.

Each message is one chunk handled by ``SegmentationWorker.handle`` (the step the embedded
hub's pump calls), or a fine-tuning or import job it hands to the ``ModelJobWorker``.
While a message is held a background heartbeat extends its visibility,
and the task asks the ECS agent for scale-in protection (``$ECS_AGENT_URI/task-protection/
v1/state``; a no-op where that variable is absent), so scaling in never kills a busy task.

SIGTERM (ECS stopping the task) drains without losing a message: the loop stops receiving,
the message in hand is released (visibility 0) at the next image boundary, and messages
received but not started are released at once; images already done are kept, and the
redelivered message skips them. Messages the queue dead-lettered are turned into ``failed``
images when the loop is idle. Each message emits EMF metrics: ``QueueLatency`` (seconds
from send to start) and ``ImagesPerSecond``.

Run as ``python -m cellhub_worker.sqs_loop``; the environment is ``AwsResources``'s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from cellhub.errors import CellhubError, StaleReceipt
from cellhub.ports.job_queue import JobQueue, ReceivedMessage
from cellhub.services.segmentation_worker import SegmentationWorker

logger = logging.getLogger(__name__)

VISIBILITY_TIMEOUT = 300
WAIT_SECONDS = 20
# How often an idle worker turns dead-lettered chunks into failed images.
DEAD_LETTER_INTERVAL = 60.0
PROTECTION_MINUTES = 60
# Seconds to wait after a failed poll before the next one.
ERROR_BACKOFF = 5.0
# Seconds at most before a failed visibility extension is tried again.
HEARTBEAT_RETRY = 5.0


class TaskProtection:
    """ECS task scale-in protection through the agent's endpoint; no agent, no calls."""

    def __init__(self, agent_uri: str | None, *, expires_in_minutes: int = PROTECTION_MINUTES):
        self._url = f"{agent_uri}/task-protection/v1/state" if agent_uri else None
        self._minutes = expires_in_minutes
        self._enabled_at: float | None = None

    def hold(self) -> None:
        """Protect the task; refreshed when half the protection's lifetime has passed."""
        now = time.monotonic()
        if self._enabled_at is not None and now - self._enabled_at < self._minutes * 30:
            return
        if self._put({"ProtectionEnabled": True, "ExpiresInMinutes": self._minutes}):
            self._enabled_at = now

    def release(self) -> None:
        if self._enabled_at is not None and self._put({"ProtectionEnabled": False}):
            self._enabled_at = None

    def _put(self, state: dict[str, object]) -> bool:
        if self._url is None:
            return False
        request = urllib.request.Request(
            self._url,
            data=json.dumps(state).encode(),
            headers={"Content-Type": "application/json"},
            method="PUT",
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(200 <= response.status < 300)
        except OSError as error:
            # Unprotected is safe: a scale-in then stops us through the SIGTERM drain.
            logger.warning("task protection update failed: %s", error)
            return False


class _Draining(Exception):
    """Raised between two images of a chunk once the loop was told to stop."""


class SqsWorkerLoop:
    """Receives chunks from ``queue`` and hands them to ``worker`` until ``stop()``."""

    def __init__(
        self,
        worker: SegmentationWorker,
        queue: JobQueue,
        *,
        dead_letter: JobQueue | None = None,
        max_receives: int = 3,
        visibility_timeout: int = VISIBILITY_TIMEOUT,
        wait_seconds: int = WAIT_SECONDS,
        protection: TaskProtection | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._worker = worker
        self._queue = queue
        self._dead_letter = dead_letter
        self._max_receives = max_receives
        self._visibility = visibility_timeout
        self._wait = wait_seconds
        self._protection = protection or TaskProtection(None)
        self._metrics = metrics or Metrics(namespace="CellHub", service="cellhub-worker")
        self._stopping = threading.Event()
        self._dead_letters_due = 0.0

    def stop(self) -> None:
        """Ask the loop to drain; safe from a signal handler."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        try:
            while not self.stopping:
                try:
                    self.run_once()
                except Exception:
                    # A queue or table outage must not end the task; what it held reappears
                    # after its visibility timeout.
                    logger.exception("worker loop step failed; retrying")
                    self._stopping.wait(ERROR_BACKOFF)
        finally:
            self._protection.release()

    def run_once(self) -> int:
        """One long poll and the handling of what it brought; returns messages finished."""
        received = self._queue.receive(
            max_messages=1, visibility_timeout=self._visibility, wait_seconds=self._wait
        )
        if not received:
            self._protection.release()
            self._fail_dead_letters()
            return 0
        self._protection.hold()
        finished = 0
        for message in received:
            if self.stopping:
                self._release(message)
            elif self._handle(message):
                finished += 1
        return finished

    def _handle(self, message: ReceivedMessage) -> bool:
        started = time.time()
        self._metrics.add_metric(
            name="QueueLatency", unit=MetricUnit.Seconds, value=max(0.0, started - message.sent_at)
        )
        images = 0

        def between_images() -> None:
            nonlocal images
            images += 1
            if self.stopping:
                raise _Draining

        try:
            with self._heartbeat(message):
                self._worker.handle(message, heartbeat=between_images)
        except _Draining:
            self._release(message)
            return False
        except StaleReceipt:
            logger.warning("lost the claim on message %s", message.message_id)
            return False
        except Exception as error:
            logger.exception("segmentation message %s failed", message.message_id)
            if isinstance(error, CellhubError) and error.permanent:
                # Straight on towards the dead-letter queue instead of waiting out the timeout.
                self._release(message)
            return False
        finally:
            self._record(images, time.time() - started)
        self._queue.delete(message.receipt_handle)
        return True

    @contextmanager
    def _heartbeat(self, message: ReceivedMessage) -> Iterator[None]:
        """Extend the message's visibility every third of the timeout while the body runs.

        A failed extension (throttling, a network error) is retried after
        ``HEARTBEAT_RETRY`` seconds at most, well before the visibility runs out; only a
        stale receipt (the claim is lost) stops the heartbeat.
        """
        done = threading.Event()
        interval = self._visibility / 3

        def beat() -> None:
            wait = interval
            while not done.wait(wait):
                try:
                    self._queue.change_visibility(message.receipt_handle, self._visibility)
                except StaleReceipt:
                    logger.warning("heartbeat lost the claim on message %s", message.message_id)
                    return
                except Exception:
                    logger.warning(
                        "heartbeat failed for message %s; retrying",
                        message.message_id,
                        exc_info=True,
                    )
                    wait = min(interval, HEARTBEAT_RETRY)
                else:
                    wait = interval

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _release(self, message: ReceivedMessage) -> None:
        # A stale receipt means it is visible again or someone else's now: not lost either way.
        with contextlib.suppress(StaleReceipt):
            self._queue.change_visibility(message.receipt_handle, 0)
        self._metrics.add_metric(name="MessagesReleased", unit=MetricUnit.Count, value=1)

    def _record(self, images: int, seconds: float) -> None:
        self._metrics.add_metric(name="ImagesHandled", unit=MetricUnit.Count, value=images)
        if images and seconds > 0:
            self._metrics.add_metric(
                name="ImagesPerSecond", unit=MetricUnit.CountPerSecond, value=images / seconds
            )
        self._metrics.flush_metrics()

    def _fail_dead_letters(self) -> None:
        if self._dead_letter is None or time.monotonic() < self._dead_letters_due:
            return
        self._dead_letters_due = time.monotonic() + DEAD_LETTER_INTERVAL
        self._worker.drain_dead_letters(
            self._dead_letter, attempts=self._max_receives, max_messages=10
        )


def install_drain_on_signals(loop: SqsWorkerLoop) -> None:
    """SIGTERM (ECS stop) and SIGINT (Ctrl-C) drain the loop instead of killing it."""

    def drain(signum: int, frame: FrameType | None) -> None:
        logger.info("signal %s: draining", signum)
        loop.stop()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    from cellhub_worker.worker_wiring import loop_from_environment

    loop = loop_from_environment()
    install_drain_on_signals(loop)
    loop.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
