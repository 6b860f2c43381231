"""One SQLite database file shared by the local adapters: WAL, a connection per thread.

Every local adapter (job queue, metadata repositories) keeps its tables in a database file
and talks to it through this class, so the concurrency rules live in one place:

* one connection per thread, reopened after a fork (a connection must never cross a fork);
* WAL journal, so readers never block the writer and a crashed process loses nothing;
* writes in short explicit ``BEGIN IMMEDIATE`` transactions, which take the write lock up
  front: two writers in different threads or processes serialise instead of deadlocking.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Seconds a writer waits for the lock before SQLite gives up; well above any transaction here.
_BUSY_TIMEOUT = 30.0


class SqliteDatabase:
    """A database file; ``transaction()`` for writes, ``connection()`` for single reads."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()

    def apply_schema(self, script: str) -> None:
        """Run idempotent DDL (``CREATE TABLE IF NOT EXISTS`` ...)."""
        self.connection().executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock until it commits."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after a fork)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            # isolation_level=None: transactions are opened explicitly, never implicitly.
            db = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL survives a crashed process; only power loss can drop the
            # last commits.
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            with self._connections_lock:
                self._connections.append(db)
            local.connection, local.pid = db, os.getpid()
        connection: sqlite3.Connection = local.connection
        return connection

    def close(self) -> None:
        """Close every connection this object opened, in any thread."""
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
