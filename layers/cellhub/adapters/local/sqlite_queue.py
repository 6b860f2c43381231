"""The job queue on one machine: a durable SQLite table with SQS semantics (see the port).

Several queues share one database file, told apart by their ``name``. Every call that
changes state runs in one short ``BEGIN IMMEDIATE`` transaction, which takes the write lock
before reading, so two consumers in different threads or processes never claim the same
message. Each thread (and each forked process) opens its own connection in WAL mode.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.errors import InvalidParameter, StaleReceipt
from cellhub.ports import job_queue as port
from cellhub.ports.job_queue import QueueDepth, ReceivedMessage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL,
    body TEXT NOT NULL, sent_at REAL NOT NULL, visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0, first_received_at REAL, receipt_token TEXT,
    UNIQUE (queue, message_id)
);
CREATE INDEX IF NOT EXISTS queue_messages_by_visibility ON queue_messages (queue, visible_at);
CREATE TABLE IF NOT EXISTS queue_deduplication (
    queue TEXT NOT NULL, deduplication_id TEXT NOT NULL, message_id TEXT NOT NULL,
    expires_at REAL NOT NULL, PRIMARY KEY (queue, deduplication_id)
);
"""

# Long polling re-checks the table this often: a send from another process cannot wake us.
_POLL_INTERVAL_S = 0.05
# A message on its way to the dead-letter queue is hidden this long, so that if the process
# dies between the two writes the move is retried by the next receive.
_DEAD_LETTER_LEASE_S = 30
# Never-received messages that are not yet visible are delayed; received ones are in flight.
_DEPTH = (
    "SELECT TOTAL(visible_at <= t), TOTAL(visible_at > t AND receive_count > 0),"
    " TOTAL(visible_at > t AND receive_count = 0) FROM queue_messages, (SELECT ? AS t)"
    " WHERE queue = ?"
)
_CLAIM = (
    "UPDATE queue_messages SET receipt_token = ?, visible_at = ?, receive_count = ?,"
    " first_received_at = ? WHERE queue = ? AND message_id = ?"
)


class SqliteJobQueue:
    """A ``JobQueue`` stored in the SQLite file at ``path``; re-opening it resumes the queue."""

    def __init__(
        self,
        path: Path | str,
        name: str,
        *,
        visibility_timeout: int = 30,
        max_receives: int = 5,
        dead_letter: SqliteJobQueue | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.name = name
        port.check_visibility_timeout(visibility_timeout)
        if max_receives < 1:
            raise InvalidParameter("max_receives must be at least 1", max_receives=max_receives)
        if dead_letter is not None and (dead_letter.path, dead_letter.name) == (self.path, name):
            raise InvalidParameter("a queue cannot be its own dead-letter queue", name=name)
        self.visibility_timeout = visibility_timeout
        self.max_receives = max_receives
        self.dead_letter = dead_letter
        self._clock = clock
        self._database = SqliteDatabase(self.path)
        # Wakes long polls in this process at once when a message arrives here.
        self._arrivals = threading.Condition()
        self._database.apply_schema(_SCHEMA)

    def send(
        self, body: str, *, delay_seconds: int = 0, deduplication_id: str | None = None
    ) -> str:
        port.check_body(body)
        port.check_delay(delay_seconds)
        now = self._clock()
        message_id = str(uuid.uuid4())
        with self._database.transaction() as db:
            if deduplication_id is not None:
                key = (self.name, deduplication_id)
                db.execute(
                    "DELETE FROM queue_deduplication WHERE queue = ? AND expires_at <= ?",
                    (self.name, now),
                )
                db.execute(
                    "INSERT OR IGNORE INTO queue_deduplication VALUES (?, ?, ?, ?)",
                    (*key, message_id, now + port.DEDUPLICATION_WINDOW_SECONDS),
                )
                (first_id,) = db.execute(
                    "SELECT message_id FROM queue_deduplication"
                    " WHERE queue = ? AND deduplication_id = ?",
                    key,
                ).fetchone()
                if first_id != message_id:
                    return str(first_id)
            self._insert(db, message_id, body, now, now + delay_seconds)
        self._announce_arrival()
        return message_id

    def send_batch(self, bodies: Sequence[str]) -> list[str]:
        for body in bodies:
            port.check_body(body)
        message_ids: list[str] = []
        for chunk in port.in_batches(bodies):
            now = self._clock()
            with self._database.transaction() as db:
                for body in chunk:
                    message_id = str(uuid.uuid4())
                    self._insert(db, message_id, body, now, now)
                    message_ids.append(message_id)
        if message_ids:
            self._announce_arrival()
        return message_ids

    def receive(
        self,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_seconds: float = 0,
    ) -> list[ReceivedMessage]:
        port.check_receive(max_messages, wait_seconds)
        timeout = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        port.check_visibility_timeout(timeout)
        # Long polling waits in real time even when the queue runs on an injected clock.
        deadline = time.monotonic() + wait_seconds
        while True:
            messages = self._claim(max_messages, timeout)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            with self._arrivals:
                self._arrivals.wait(min(remaining, _POLL_INTERVAL_S))

    def change_visibility(self, receipt_handle: str, timeout_seconds: int) -> None:
        port.check_visibility_timeout(timeout_seconds)
        message_id, token = _parse_receipt(receipt_handle)
        now = self._clock()
        with self._database.transaction() as db:
            row = self._find(db, message_id)
            if row is None or row[0] != token or row[1] <= now:
                raise StaleReceipt("receipt no longer holds the message", message_id=message_id)
            db.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND message_id = ?",
                (now + timeout_seconds, self.name, message_id),
            )
        if timeout_seconds == 0:
            self._announce_arrival()

    def delete(self, receipt_handle: str) -> None:
        message_id, token = _parse_receipt(receipt_handle)
        with self._database.transaction() as db:
            row = self._find(db, message_id)
            if row is None:
                return  # already acked, purged or dead-lettered: an ack may be retried
            if row[0] != token:
                raise StaleReceipt("message was received again since", message_id=message_id)
            db.execute(
                "DELETE FROM queue_messages WHERE queue = ? AND message_id = ?",
                (self.name, message_id),
            )

    def depth(self) -> QueueDepth:
        # One SELECT reads a consistent WAL snapshot; it needs no write lock.
        counts = self._database.connection().execute(_DEPTH, (self._clock(), self.name)).fetchone()
        return QueueDepth(*(int(count) for count in counts))

    def purge(self) -> None:
        with self._database.transaction() as db:
            db.execute("DELETE FROM queue_messages WHERE queue = ?", (self.name,))

    def close(self) -> None:
        """Close every connection this object opened; call once no thread uses it any more."""
        self._database.close()

    def _claim(self, max_messages: int, timeout: int) -> list[ReceivedMessage]:
        claimed: list[ReceivedMessage] = []
        while len(claimed) < max_messages:
            now = self._clock()
            doomed: list[tuple[str, str, float, str]] = []
            with self._database.transaction() as db:
                rows = db.execute(
                    "SELECT message_id, body, sent_at, receive_count, first_received_at"
                    " FROM queue_messages WHERE queue = ? AND visible_at <= ?"
                    " ORDER BY seq LIMIT ?",
                    (self.name, now, max_messages - len(claimed)),
                ).fetchall()
                for message_id, body, sent_at, receive_count, first_received_at in rows:
                    token = uuid.uuid4().hex
                    key = (self.name, message_id)
                    if self.dead_letter is not None and receive_count >= self.max_receives:
                        lease_end = now + _DEAD_LETTER_LEASE_S
                        db.execute(
                            _CLAIM, (token, lease_end, receive_count, first_received_at, *key)
                        )
                        doomed.append((message_id, body, sent_at, token))
                        continue
                    first = now if first_received_at is None else first_received_at
                    db.execute(_CLAIM, (token, now + timeout, receive_count + 1, first, *key))
                    handle = f"{message_id}:{token}"
                    claimed.append(
                        ReceivedMessage(message_id, body, handle, receive_count + 1, sent_at, first)
                    )
            self._move_to_dead_letter(doomed)
            # Only a batch that lost messages to the dead-letter queue is worth topping up.
            if not doomed:
                break
        return claimed

    def _move_to_dead_letter(self, doomed: list[tuple[str, str, float, str]]) -> None:
        target = self.dead_letter
        if not doomed or target is None:
            return
        # Insert first, then delete: a crash in between duplicates a message, never loses it.
        with target._database.transaction() as db:
            for message_id, body, sent_at, _ in doomed:
                target._insert(db, message_id, body, sent_at, target._clock())
        target._announce_arrival()
        with self._database.transaction() as db:
            db.executemany(
                "DELETE FROM queue_messages"
                " WHERE queue = ? AND message_id = ? AND receipt_token = ?",
                [(self.name, message_id, token) for message_id, _, _, token in doomed],
            )

    def _insert(
        self, db: sqlite3.Connection, message_id: str, body: str, sent_at: float, visible_at: float
    ) -> None:
        # OR IGNORE makes a retried dead-letter move idempotent; fresh ids never collide.
        db.execute(
            "INSERT OR IGNORE INTO queue_messages (queue, message_id, body, sent_at, visible_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (self.name, message_id, body, sent_at, visible_at),
        )

    def _find(self, db: sqlite3.Connection, message_id: str) -> tuple[str | None, float] | None:
        row: tuple[str | None, float] | None = db.execute(
            "SELECT receipt_token, visible_at FROM queue_messages"
            " WHERE queue = ? AND message_id = ?",
            (self.name, message_id),
        ).fetchone()
        return row

    def _announce_arrival(self) -> None:
        with self._arrivals:
            self._arrivals.notify_all()


def _parse_receipt(receipt_handle: str) -> tuple[str, str]:
    message_id, separator, token = receipt_handle.partition(":")
    if not (separator and message_id and token):
        raise InvalidParameter("malformed receipt handle", receipt_handle=receipt_handle)
    return message_id, token
