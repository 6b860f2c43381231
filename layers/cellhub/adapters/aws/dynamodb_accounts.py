"""The accounts repository on DynamoDB: users, email claims and tokens in the hub table.

Item layout in ``cellhub.adapters.aws.dynamodb_table``. The port's atomic steps:

- ``create_user`` writes the user and an ``EMAIL#<email>`` claim in one transaction, both
  ``attribute_not_exists``; a failed claim is ``EmailTaken``. A claim whose user is gone (a
  delete that crashed half-way) is released and the create tried again.
- ``mark_refresh_token_used`` / ``consume_one_time_token`` are one conditional ``UpdateItem``.
- A refresh family item carries the family's ``revoked_at``. Adding a token is a transaction
  that checks the family is not revoked; when it is, the token is stored revoked. Reads merge
  the family's revocation into the token, so a revocation holds the moment it is written,
  even while the index that finds the family's tokens is still catching up.

Tokens and families expire through TTL (``expires_at``); ``expiry`` keeps the exact time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from cellhub.adapters.aws.dynamodb_expressions import Expression, only_if_new
from cellhub.adapters.aws.dynamodb_records import (
    DynamoRepository,
    failed,
    is_conditional_failure,
    optional_time,
    put_action,
    time_from_text,
    time_to_text,
    ttl_seconds,
    update_action,
    without_none,
)
from cellhub.domain.accounts import (
    OneTimeToken,
    RefreshToken,
    TokenPurpose,
    User,
    normalise_email,
)
from cellhub.errors import DuplicateRecord, EmailTaken, InputNotFound


def _user_key(user_id: str) -> tuple[str, str]:
    return f"USER#{user_id}", "USER"


def _email_key(email: str) -> tuple[str, str]:
    return f"EMAIL#{email}", "EMAIL"


def _refresh_key(token_id: str) -> tuple[str, str]:
    return f"REFRESH#{token_id}", "REFRESH"


def _family_key(family_id: str) -> tuple[str, str]:
    return f"FAMILY#{family_id}", "FAMILY"


def _once_key(token_hash: str) -> tuple[str, str]:
    return f"ONCE#{token_hash}", "ONCE"


def _auth_index(user_id: str) -> str:
    return f"USER#{user_id}#AUTH"


class DynamoAccountsRepository(DynamoRepository):
    """An ``AccountsRepository`` in the hub table (a boto3 ``Table`` resource)."""

    def create_user(self, user: User) -> None:
        email = normalise_email(user.email)
        user_pk, user_sk = _user_key(user.id)
        email_pk, email_sk = _email_key(email)
        item = {
            "pk": user_pk,
            "sk": user_sk,
            "id": user.id,
            "email": email,
            "password_hash": user.password_hash,
            "email_verified": user.email_verified,
            "created_at": time_to_text(user.created_at),
            "display_name": user.display_name,
        }
        claim = {"pk": email_pk, "sk": email_sk, "user_id": user.id}
        for _ in range(2):
            codes = self._transact(
                [put_action(item, only_if_new()), put_action(claim, only_if_new())]
            )
            if codes is None:
                return
            if failed(codes, 0):
                raise DuplicateRecord("a user with this id exists", id=user.id)
            if not self._release_stale_claim(email):
                break
        raise EmailTaken("an account with this email already exists")

    def _release_stale_claim(self, email: str) -> bool:
        """Delete the email claim if its user no longer exists; whether it did."""
        claim = self._get(*_email_key(email))
        if claim is None:
            return True
        if self._get(*_user_key(claim["user_id"])) is not None:
            return False
        guard = Expression()
        guard.where(Attr("user_id").eq(claim["user_id"]))
        try:
            self._client.delete_item(
                TableName=self._table_name,
                Key={"pk": claim["pk"], "sk": claim["sk"]},
                **guard.parts(),
            )
        except ClientError as error:
            if is_conditional_failure(error):
                return False  # claimed again meanwhile, by a live user
            raise
        return True

    def get_user(self, user_id: str) -> User | None:
        item = self._get(*_user_key(user_id))
        return None if item is None else _user(item)

    def find_user_by_email(self, email: str) -> User | None:
        normalised = normalise_email(email)
        claim = self._get(*_email_key(normalised))
        if claim is None:
            return None
        user = self.get_user(claim["user_id"])
        return user if user is not None and user.email == normalised else None

    def update_password(self, user_id: str, password_hash: str) -> None:
        self._update_user(user_id, "password_hash", password_hash)

    def mark_email_verified(self, user_id: str) -> None:
        self._update_user(user_id, "email_verified", True)

    def _update_user(self, user_id: str, attribute: str, value: Any) -> None:
        change = Expression()
        change.set(attribute, value)
        change.exists()
        if self._update(*_user_key(user_id), change) is None:
            raise InputNotFound("no such user", user_id=user_id)

    def delete_user(self, user_id: str) -> None:
        # The user goes first, so a delete that stops half-way already looks done; the
        # claim and tokens left behind are released by create_user or expire through TTL.
        reply = self._client.delete_item(
            TableName=self._table_name,
            Key=dict(zip(("pk", "sk"), _user_key(user_id), strict=True)),
            ReturnValues="ALL_OLD",
        )
        email = reply.get("Attributes", {}).get("email")
        if email is not None:
            self._release_stale_claim(email)
        auth_items = self._query(Key("gsi3pk").eq(_auth_index(user_id)), IndexName="gsi3")
        self._delete_keys([(item["pk"], item["sk"]) for item in auth_items])

    def add_refresh_token(self, token: RefreshToken) -> None:
        pk, sk = _refresh_key(token.id)
        item = {
            "pk": pk,
            "sk": sk,
            "id": token.id,
            "family_id": token.family_id,
            "user_id": token.user_id,
            "token_hash": token.token_hash,
            "expiry": time_to_text(token.expires_at),
            "expires_at": ttl_seconds(token.expires_at),
            "used_at": None if token.used_at is None else time_to_text(token.used_at),
            "revoked_at": None if token.revoked_at is None else time_to_text(token.revoked_at),
            "gsi1pk": f"FAMILY#{token.family_id}",
            "gsi1sk": pk,
            "gsi3pk": _auth_index(token.user_id),
            "gsi3sk": pk,
        }
        family_pk, family_sk = _family_key(token.family_id)
        family = Expression()
        family.set("user_id", token.user_id)
        family.set("expires_at", ttl_seconds(token.expires_at))
        family.set("gsi3pk", _auth_index(token.user_id))
        family.set("gsi3sk", family_pk)
        family.where(Attr("revoked_at").not_exists())
        codes = self._transact(
            [update_action(family_pk, family_sk, family), put_action(without_none(item))]
        )
        if codes is None:
            return
        if not failed(codes, 0):
            raise DuplicateRecord("a refresh token with this id exists", id=token.id)
        # The family was revoked first: the new token is born revoked.
        revoked = (self._get(family_pk, family_sk) or {}).get("revoked_at")
        item["revoked_at"] = min(filter(None, (item["revoked_at"], revoked)), default=None)
        if not self._put(without_none(item), only_if_new()):
            raise DuplicateRecord("a refresh token with this id exists", id=token.id)

    def get_refresh_token(self, token_id: str) -> RefreshToken | None:
        item = self._get(*_refresh_key(token_id))
        if item is None:
            return None
        family = self._get(*_family_key(item["family_id"])) or {}
        revoked = min(
            filter(None, (item.get("revoked_at"), family.get("revoked_at"))), default=None
        )
        return RefreshToken(
            id=item["id"],
            family_id=item["family_id"],
            user_id=item["user_id"],
            token_hash=item["token_hash"],
            expires_at=time_from_text(item["expiry"]),
            used_at=optional_time(item.get("used_at")),
            revoked_at=optional_time(revoked),
        )

    def mark_refresh_token_used(self, token_id: str, now: datetime) -> bool:
        change = Expression()
        change.set("used_at", time_to_text(now))
        change.exists()
        change.where(Attr("used_at").not_exists())
        return self._update(*_refresh_key(token_id), change) is not None

    def revoke_refresh_family(self, family_id: str, now: datetime) -> None:
        revoked_at = time_to_text(now)
        # The family item first: from this write on, every read of its tokens sees it revoked.
        # An earlier revocation is kept: it records when the family was first killed.
        self._set_revoked(*_family_key(family_id), revoked_at)
        tokens = self._query(Key("gsi1pk").eq(f"FAMILY#{family_id}"), IndexName="gsi1")
        for token in tokens:
            if token.get("revoked_at") is None:
                self._set_revoked(token["pk"], token["sk"], revoked_at)

    def _set_revoked(self, pk: str, sk: str, revoked_at: str) -> None:
        change = Expression()
        change.set("revoked_at", revoked_at)
        change.exists()
        change.where(Attr("revoked_at").not_exists())
        self._update(pk, sk, change)

    def revoke_all_refresh_tokens(self, user_id: str, now: datetime) -> None:
        families = self._query(
            Key("gsi3pk").eq(_auth_index(user_id)) & Key("gsi3sk").begins_with("FAMILY#"),
            IndexName="gsi3",
        )
        for family in list(families):
            self.revoke_refresh_family(family["pk"].removeprefix("FAMILY#"), now)

    def add_one_time_token(self, token: OneTimeToken) -> None:
        pk, sk = _once_key(token.token_hash)
        item = {
            "pk": pk,
            "sk": sk,
            "id": token.id,
            "user_id": token.user_id,
            "purpose": token.purpose,
            "token_hash": token.token_hash,
            "expiry": time_to_text(token.expires_at),
            "expires_at": ttl_seconds(token.expires_at),
            "used_at": None if token.used_at is None else time_to_text(token.used_at),
            "gsi3pk": _auth_index(token.user_id),
            "gsi3sk": pk,
        }
        if not self._put(without_none(item), only_if_new()):
            raise DuplicateRecord("a one-time token with this hash exists")

    def consume_one_time_token(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> str | None:
        moment = time_to_text(now)
        change = Expression()
        change.set("used_at", moment)
        change.exists()
        change.where(Attr("used_at").not_exists())
        change.where(Attr("purpose").eq(purpose))
        # ISO text, not the TTL number: expiry is exact to the microsecond.
        change.where(Attr("expiry").gt(moment))
        stored = self._update(*_once_key(token_hash), change, returns="ALL_NEW")
        return None if stored is None else str(stored["user_id"])


def _user(item: dict[str, Any]) -> User:
    return User(
        id=item["id"],
        email=item["email"],
        password_hash=item["password_hash"],
        email_verified=bool(item["email_verified"]),
        created_at=time_from_text(item["created_at"]),
        display_name=item.get("display_name", ""),
    )
