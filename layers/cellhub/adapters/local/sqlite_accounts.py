"""The accounts repository on one machine: ``accounts_*`` tables in a SQLite file.

The port's atomic steps map onto single SQL statements: a ``UNIQUE`` email column for
``create_user``, ``UPDATE ... WHERE used_at IS NULL`` (checked through ``rowcount``) for the
compare-and-set operations, and ``ON DELETE CASCADE`` for the user's tokens. Times are stored
as fixed-width ISO-8601 UTC strings, which sort and compare as text in time order.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.domain.accounts import (
    OneTimeToken,
    RefreshToken,
    TokenPurpose,
    User,
    normalise_email,
)
from cellhub.errors import EmailTaken, InputNotFound

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts_users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    email_verified INTEGER NOT NULL, created_at TEXT NOT NULL, display_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts_refresh_tokens (
    id TEXT PRIMARY KEY, family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES accounts_users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT, revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS accounts_refresh_by_family ON accounts_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS accounts_refresh_by_user ON accounts_refresh_tokens (user_id);
CREATE TABLE IF NOT EXISTS accounts_one_time_tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES accounts_users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX IF NOT EXISTS accounts_one_time_by_user ON accounts_one_time_tokens (user_id);
"""

_USER_COLUMNS = "id, email, password_hash, email_verified, created_at, display_name"
_REFRESH_COLUMNS = "id, family_id, user_id, token_hash, expires_at, used_at, revoked_at"
# A new token inherits the earliest revocation of its family, so a logout that commits
# between a rotation's check and its insert still kills the rotated token.
_ADD_REFRESH = (
    f"INSERT INTO accounts_refresh_tokens ({_REFRESH_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?,"
    " COALESCE(?, (SELECT MIN(revoked_at) FROM accounts_refresh_tokens WHERE family_id = ?))"
)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _optional_text(moment: datetime | None) -> str | None:
    return None if moment is None else _text(moment)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _required_moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


class SqliteAccountsRepository:
    """An ``AccountsRepository`` in the SQLite file at ``path``, shared with other adapters."""

    def __init__(self, path: Path | str) -> None:
        self._database = SqliteDatabase(path)
        self._database.apply_schema(_SCHEMA)

    def close(self) -> None:
        self._database.close()

    def create_user(self, user: User) -> None:
        try:
            with self._database.transaction() as db:
                db.execute(
                    f"INSERT INTO accounts_users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        normalise_email(user.email),
                        user.password_hash,
                        int(user.email_verified),
                        _text(user.created_at),
                        user.display_name,
                    ),
                )
        except sqlite3.IntegrityError as error:
            if "accounts_users.email" in str(error):
                raise EmailTaken("an account with this email already exists") from None
            raise

    def get_user(self, user_id: str) -> User | None:
        row = (
            self._database.connection()
            .execute(f"SELECT {_USER_COLUMNS} FROM accounts_users WHERE id = ?", (user_id,))
            .fetchone()
        )
        return None if row is None else _user(row)

    def find_user_by_email(self, email: str) -> User | None:
        row = (
            self._database.connection()
            .execute(
                f"SELECT {_USER_COLUMNS} FROM accounts_users WHERE email = ?",
                (normalise_email(email),),
            )
            .fetchone()
        )
        return None if row is None else _user(row)

    def update_password(self, user_id: str, password_hash: str) -> None:
        self._update_user(user_id, "password_hash = ?", (password_hash,))

    def mark_email_verified(self, user_id: str) -> None:
        self._update_user(user_id, "email_verified = 1", ())

    def _update_user(self, user_id: str, assignment: str, values: tuple[object, ...]) -> None:
        with self._database.transaction() as db:
            cursor = db.execute(
                f"UPDATE accounts_users SET {assignment} WHERE id = ?", (*values, user_id)
            )
        if cursor.rowcount == 0:
            raise InputNotFound("no such user", user_id=user_id)

    def delete_user(self, user_id: str) -> None:
        with self._database.transaction() as db:
            db.execute("DELETE FROM accounts_users WHERE id = ?", (user_id,))

    def add_refresh_token(self, token: RefreshToken) -> None:
        with self._database.transaction() as db:
            db.execute(
                _ADD_REFRESH,
                (
                    token.id,
                    token.family_id,
                    token.user_id,
                    token.token_hash,
                    _text(token.expires_at),
                    _optional_text(token.used_at),
                    _optional_text(token.revoked_at),
                    token.family_id,
                ),
            )

    def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        row = (
            self._database.connection()
            .execute(
                f"SELECT {_REFRESH_COLUMNS} FROM accounts_refresh_tokens WHERE id = ?",
                (token_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return RefreshToken(
            id=row[0],
            family_id=row[1],
            user_id=row[2],
            token_hash=row[3],
            expires_at=_required_moment(row[4]),
            used_at=_moment(row[5]),
            revoked_at=_moment(row[6]),
        )

    def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        with self._database.transaction() as db:
            cursor = db.execute(
                "UPDATE accounts_refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL",
                (_text(now), token_id),
            )
        return cursor.rowcount == 1

    def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        self._revoke("family_id", family_id, now)

    def revoke_all_refresh_tokens(self, user_id: str, now: datetime) -> None:
        self._revoke("user_id", user_id, now)

    def _revoke(self, column: str, value: str, now: datetime) -> None:
        # An earlier revocation time is kept: it records when the family was first killed.
        with self._database.transaction() as db:
            db.execute(
                f"UPDATE accounts_refresh_tokens SET revoked_at = ?"
                f" WHERE {column} = ? AND revoked_at IS NULL",
                (_text(now), value),
            )

    def add_one_time_token(self, token: OneTimeToken) -> None:
        with self._database.transaction() as db:
            db.execute(
                "INSERT INTO accounts_one_time_tokens"
                " (id, user_id, purpose, token_hash, expires_at, used_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token.id,
                    token.user_id,
                    token.purpose,
                    token.token_hash,
                    _text(token.expires_at),
                    _optional_text(token.used_at),
                ),
            )

    def consume_one_time_token(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> str | None:
        with self._database.transaction() as db:
            row = db.execute(
                "UPDATE accounts_one_time_tokens SET used_at = ?"
                " WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?"
                " RETURNING user_id",
                (_text(now), token_hash, purpose, _text(now)),
            ).fetchone()
        return None if row is None else str(row[0])


def _user(row: tuple[str, str, str, int, str, str]) -> User:
    return User(
        id=row[0],
        email=row[1],
        password_hash=row[2],
        email_verified=bool(row[3]),
        created_at=_required_moment(row[4]),
        display_name=row[5],
    )
