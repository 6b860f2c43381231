"""Accounts and sessions: registration, email verification, login, refresh, password reset.

Sessions are a short-lived access token (``AccessTokens``) plus a refresh token rotated on
every use. A refresh token is ``<token id>.<secret>``: the id finds the record and the
secret's SHA-256 is compared in constant time, so the store never holds a usable token.
Each login starts a family; each refresh marks the presented token used (atomically, in the
repository) and adds its successor to the family. A token presented a second time means it
was copied, so the whole family is revoked and both the thief and the user must log in again.

Mailed tokens (verification, reset) are random, stored only as SHA-256 digests, expire after
``one_time_ttl`` and are consumed atomically, so each link works once.

Registration does reveal that an address has an account (``EmailTaken``); login and
password-reset requests do not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cellhub.domain.accounts import (
    OneTimeToken,
    RefreshToken,
    TokenPurpose,
    User,
    new_id,
    normalise_email,
    utc_now,
)
from cellhub.errors import InvalidCredentials, InvalidParameter, InvalidToken
from cellhub.ports.accounts_repository import AccountsRepository
from cellhub.ports.mailer import Mailer
from cellhub.services.access_tokens import AccessTokens
from cellhub.services.passwords import Passwords, check_password_policy

# 32 random bytes: far beyond guessing, as for the access-token key.
_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str

    def __repr__(self) -> str:
        # Keeps both tokens out of logs and tracebacks that print the pair.
        return "TokenPair(access=..., refresh=...)"


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token's secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class AccountService:
    """The auth flows, over an ``AccountsRepository`` and a ``Mailer``."""

    def __init__(
        self,
        repository: AccountsRepository,
        mailer: Mailer,
        tokens: AccessTokens,
        *,
        refresh_ttl: timedelta = timedelta(days=30),
        one_time_ttl: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = utc_now,
        passwords: Passwords | None = None,
        public_url: str = "http://localhost:8000",
    ) -> None:
        self._repository = repository
        self._mailer = mailer
        self._tokens = tokens
        self._refresh_ttl = refresh_ttl
        self._one_time_ttl = one_time_ttl
        self._clock = clock
        self._passwords = passwords if passwords is not None else Passwords()
        # Links in mails point at the web client under this address.
        self._public_url = public_url.rstrip("/")

    def register(self, email: str, password: str, *, display_name: str = "") -> User:
        """Create an unverified account and mail it a verification link."""
        user = User(
            id=new_id(),
            email=normalise_email(email),
            password_hash=self._passwords.hash(password),
            email_verified=False,
            created_at=self._clock(),
            display_name=display_name.strip(),
        )
        self._repository.create_user(user)
        token = self._issue_one_time_token(user.id, "verify_email")
        self._mailer.send(
            user.email,
            "Confirm your email address",
            "Welcome to the Cell Segmentation Hub.\n\n"
            "Open this link to confirm your address:\n"
            f"{self._public_url}/verify-email?token={token}\n\n"
            f"The link works once and expires in {_duration(self._one_time_ttl)}.\n",
        )
        return user

    def verify_email(self, token: str) -> None:
        """Mark the token's account verified; ``InvalidToken`` if used, expired or unknown."""
        user_id = self._consume(token, "verify_email")
        self._repository.mark_email_verified(user_id)

    def login(self, email: str, password: str) -> TokenPair:
        """A new session; ``InvalidCredentials`` alike for an unknown email or wrong password."""
        try:
            user = self._repository.find_user_by_email(email)
        except InvalidParameter:
            user = None
        if user is None:
            self._passwords.verify_nothing(password)
            raise InvalidCredentials("wrong email or password")
        if not self._passwords.verify(user.password_hash, password):
            raise InvalidCredentials("wrong email or password")
        if self._passwords.needs_rehash(user.password_hash):
            # The password is only ever in hand here, so this is when a hash can be upgraded.
            self._repository.update_password(user.id, self._passwords.rehash(password))
        return self._start_session(user.id, family_id=new_id())

    def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for a new pair; a reused token revokes its family."""
        record = self._find_refresh_token(refresh_token)
        now = self._clock()
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            raise InvalidToken("the refresh token is not valid")
        if not self._repository.mark_refresh_token_used(record.id, now):
            self._repository.revoke_refresh_family(record.family_id, now)
            raise InvalidToken("the refresh token is not valid")
        return self._start_session(record.user_id, family_id=record.family_id)

    def logout(self, refresh_token: str) -> None:
        """End the session the token belongs to; an unknown token is ignored."""
        record = self._find_refresh_token(refresh_token)
        if record is not None:
            self._repository.revoke_refresh_family(record.family_id, self._clock())

    def request_password_reset(self, email: str) -> None:
        """Mail a reset link if the address has an account; the caller never learns which."""
        try:
            user = self._repository.find_user_by_email(email)
        except InvalidParameter:
            return
        if user is None:
            return
        token = self._issue_one_time_token(user.id, "reset_password")
        self._mailer.send(
            user.email,
            "Reset your password",
            "Someone asked to reset the password of your Cell Segmentation Hub account.\n\n"
            "Open this link to choose a new one:\n"
            f"{self._public_url}/reset-password?token={token}\n\n"
            f"The link works once and expires in {_duration(self._one_time_ttl)}. If you"
            " did not ask for it, ignore this message.\n",
        )

    def reset_password(self, token: str, new_password: str) -> None:
        """Set a new password with a mailed token, and end every session of the account."""
        # Checked first, so that a rejected password does not use up the link.
        check_password_policy(new_password)
        user_id = self._consume(token, "reset_password")
        self._repository.update_password(user_id, self._passwords.hash(new_password))
        self._repository.revoke_all_refresh_tokens(user_id, self._clock())

    def change_password(self, user_id: str, old_password: str, new_password: str) -> TokenPair:
        """Replace the password, end every session, and return a fresh one for the caller."""
        user = self._repository.get_user(user_id)
        if user is None or not self._passwords.verify(user.password_hash, old_password):
            raise InvalidCredentials("wrong password")
        self._repository.update_password(user_id, self._passwords.hash(new_password))
        self._repository.revoke_all_refresh_tokens(user_id, self._clock())
        return self._start_session(user_id, family_id=new_id())

    def delete_account(self, user_id: str) -> None:
        """Delete the account and all its tokens; its access tokens die within their TTL."""
        self._repository.delete_user(user_id)

    def _start_session(self, user_id: str, *, family_id: str) -> TokenPair:
        token_id, secret = new_id(), secrets.token_urlsafe(_SECRET_BYTES)
        self._repository.add_refresh_token(
            RefreshToken(
                id=token_id,
                family_id=family_id,
                user_id=user_id,
                token_hash=digest(secret),
                expires_at=self._clock() + self._refresh_ttl,
            )
        )
        return TokenPair(access=self._tokens.issue(user_id), refresh=f"{token_id}.{secret}")

    def _find_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        token_id, dot, secret = refresh_token.partition(".")
        if not (dot and token_id and secret):
            return None
        record = self._repository.get_refresh_token(token_id)
        if record is None or not hmac.compare_digest(record.token_hash, digest(secret)):
            return None
        return record

    def _issue_one_time_token(self, user_id: str, purpose: TokenPurpose) -> str:
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        self._repository.add_one_time_token(
            OneTimeToken(
                id=new_id(),
                user_id=user_id,
                purpose=purpose,
                token_hash=digest(secret),
                expires_at=self._clock() + self._one_time_ttl,
            )
        )
        return secret

    def _consume(self, token: str, purpose: TokenPurpose) -> str:
        user_id = self._repository.consume_one_time_token(digest(token), purpose, self._clock())
        if user_id is None:
            raise InvalidToken("the link is not valid or has expired")
        return user_id


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"
