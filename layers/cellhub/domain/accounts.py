"""Account records: users, their refresh tokens and their single-use mail tokens.

Every datetime here is timezone-aware UTC; ids are uuid4 hex strings. Tokens are never
stored in the clear: records hold the SHA-256 hex digest of the secret the user was given,
so a leaked table cannot be replayed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cellhub.errors import InvalidParameter

TokenPurpose = Literal["verify_email", "reset_password"]
TOKEN_PURPOSES: tuple[TokenPurpose, ...] = ("verify_email", "reset_password")

# RFC 5321 caps a forward path at 254 characters; longer strings cannot be addresses.
MAX_EMAIL_LENGTH = 254


def new_id() -> str:
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    """The stored form of an address: trimmed and lower-cased, so lookups ignore case.

    Only the shape is checked (one ``@`` with text on both sides); whether the address
    exists is settled by the verification mail, not by parsing.
    """
    normalised = email.strip().lower()
    local, at, domain = normalised.partition("@")
    if not (at and local and domain) or "@" in domain or len(normalised) > MAX_EMAIL_LENGTH:
        raise InvalidParameter("not an email address")
    if any(character.isspace() for character in normalised):
        raise InvalidParameter("not an email address")
    return normalised


def _require_utc(**moments: datetime | None) -> None:
    for name, moment in moments.items():
        if moment is not None and moment.utcoffset() is None:
            raise InvalidParameter(f"{name} must be timezone-aware", field=name)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    # Always in ``normalise_email`` form; the repository relies on it for uniqueness.
    email: str
    # An Argon2id PHC string (``$argon2id$v=19$...``), never the password.
    password_hash: str
    email_verified: bool
    created_at: datetime
    display_name: str = ""

    def __post_init__(self) -> None:
        if self.email != normalise_email(self.email):
            raise InvalidParameter("User.email must be normalised")
        _require_utc(created_at=self.created_at)


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """One link of a rotation chain. Every rotation adds a token to the same family."""

    id: str
    family_id: str
    user_id: str
    token_hash: str
    expires_at: datetime
    # Set once, when the token is exchanged; a second exchange is a reuse.
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_utc(expires_at=self.expires_at, used_at=self.used_at, revoked_at=self.revoked_at)


@dataclass(frozen=True, slots=True)
class OneTimeToken:
    """A mailed token (email verification or password reset), good for one use."""

    id: str
    user_id: str
    purpose: TokenPurpose
    token_hash: str
    expires_at: datetime
    used_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.purpose not in TOKEN_PURPOSES:
            raise InvalidParameter("unknown token purpose", purpose=self.purpose)
        _require_utc(expires_at=self.expires_at, used_at=self.used_at)
