"""The accounts port: users, refresh tokens and mailed one-time tokens, with atomic updates.

The auth service's security rests on three compare-and-set operations; every adapter makes
each of them one atomic step, so two racing requests can never both win:

- ``create_user`` fails with ``EmailTaken`` when the (normalised) email is already used;
- ``mark_refresh_token_used`` sets ``used_at`` only if it was unset and returns whether it
  did: of two concurrent exchanges of one refresh token exactly one gets ``True``, and the
  other is treated as a reuse;
- ``consume_one_time_token`` marks a mailed token used only if it is unused, unexpired and of
  the asked purpose, so a link works once.

A refresh token added to a family that was already revoked is stored revoked, so a rotation
racing a logout cannot leave a live token behind.

How a DynamoDB single-table adapter maps onto this (conditional writes, no scans):

- user ``PK=USER#<id>``; its email claimed by a second item ``PK=EMAIL#<email>`` written in
  the same ``TransactWriteItems`` with ``attribute_not_exists(PK)``; a cancelled transaction
  is ``EmailTaken``. ``find_user_by_email`` reads the claim item, then the user.
- refresh token ``PK=REFRESH#<id>`` with GSIs on ``family_id`` and ``user_id``;
  ``mark_refresh_token_used`` is ``UpdateItem`` with ``attribute_not_exists(used_at)``
  (``ConditionalCheckFailed`` means ``False``); revocations query a GSI and update each item.
  A family item ``PK=FAMILY#<id>`` carries ``revoked_at``; adding a token is a transaction
  that copies it.
- one-time token ``PK=ONCE#<token_hash>``; consuming is ``UpdateItem`` conditioned on
  ``attribute_not_exists(used_at) AND purpose = :p AND expires_at > :now`` with
  ``ReturnValues=ALL_NEW`` for the user id.
- ``delete_user`` removes the user, the email claim and the user's tokens (GSI on
  ``user_id``); a token left behind by a crash is harmless because the service loads the user.

Datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from cellhub.domain.accounts import OneTimeToken, RefreshToken, TokenPurpose, User


class AccountsRepository(Protocol):
    """Account storage. Methods are safe to call from several threads and processes at once."""

    def create_user(self, user: User) -> None:
        """Store a new user; ``EmailTaken`` if another user has the same email."""
        ...

    def get_user(self, user_id: str) -> User | None: ...

    def find_user_by_email(self, email: str) -> User | None:
        """The user with this address, whatever its case and surrounding spaces."""
        ...

    def update_password(self, user_id: str, password_hash: str) -> None:
        """Replace the stored hash; ``InputNotFound`` if there is no such user."""
        ...

    def mark_email_verified(self, user_id: str) -> None:
        """Set ``email_verified``; ``InputNotFound`` if there is no such user."""
        ...

    def delete_user(self, user_id: str) -> None:
        """Delete the user with all their tokens; deleting a missing user is a no-op."""
        ...

    def add_refresh_token(self, token: RefreshToken) -> None: ...

    def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        """Looked up by id: the presented token carries it, and its hash is compared after."""
        ...

    def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        """Set ``used_at`` if still unset; ``False`` if it was already used (or is missing)."""
        ...

    def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        """Revoke every token of the family, including ones added to it later."""
        ...

    def revoke_all_refresh_tokens(self, user_id: str, now: datetime) -> None:
        """Revoke every refresh token of the user (every session, on every device)."""
        ...

    def add_one_time_token(self, token: OneTimeToken) -> None: ...

    def consume_one_time_token(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> str | None:
        """Mark the token used and return its user id; None if unknown, used, expired or of
        another purpose."""
        ...
