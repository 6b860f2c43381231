"""The auth flows end to end over the SQLite repository and the outbox mailer."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cellhub.adapters.local.outbox_mailer import OutboxMailer
from cellhub.adapters.local.sqlite_accounts import SqliteAccountsRepository
from cellhub.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidParameter,
    InvalidToken,
    WeakPassword,
)
from cellhub.services.access_tokens import AccessTokens
from cellhub.services.accounts import AccountService, digest
from cellhub.services.passwords import Passwords, check_password_policy

PASSWORD = "correct horse battery"
# The cheapest parameters Argon2 accepts: the flows, not the cost, are under test.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=16, salt_len=8)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


@dataclass
class Hub:
    service: AccountService
    repository: SqliteAccountsRepository
    outbox: OutboxMailer
    tokens: AccessTokens
    clock: FakeClock

    def last_mail(self) -> EmailMessage:
        message = message_from_bytes(self.outbox.messages()[-1].read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def last_link_token(self) -> str:
        body = self.last_mail().get_body(preferencelist=("plain",))
        assert body is not None
        match = re.search(r"\?token=(\S+)", body.get_content())
        assert match is not None
        return match.group(1)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    clock = FakeClock()
    repository = SqliteAccountsRepository(tmp_path / "hub.sqlite3")
    outbox = OutboxMailer(tmp_path / "outbox")
    tokens = AccessTokens(b"k" * 32, issuer="cellhub", audience="cellhub-api", clock=clock)
    service = AccountService(
        repository,
        outbox,
        tokens,
        refresh_ttl=timedelta(days=30),
        one_time_ttl=timedelta(hours=1),
        clock=clock,
        passwords=Passwords(CHEAP),
    )
    yield Hub(service, repository, outbox, tokens, clock)
    repository.close()


def registered(hub: Hub, email: str = "ada@example.org") -> str:
    user = hub.service.register(email, PASSWORD)
    hub.service.verify_email(hub.last_link_token())
    return user.id


def test_register_mails_a_link_that_verifies_once(hub: Hub) -> None:
    user = hub.service.register("  Ada@Example.org ", PASSWORD)
    assert user.email == "ada@example.org" and not user.email_verified
    mail = hub.last_mail()
    assert (mail["To"], mail["Subject"]) == ("ada@example.org", "Confirm your email address")
    token = hub.last_link_token()
    # Only the digest is stored, never the mailed secret.
    stored_hashes = [
        row[0]
        for row in hub.repository._database.connection().execute(
            "SELECT token_hash FROM accounts_one_time_tokens"
        )
    ]
    assert stored_hashes == [digest(token)]
    hub.service.verify_email(token)
    stored = hub.repository.get_user(user.id)
    assert stored is not None and stored.email_verified
    with pytest.raises(InvalidToken):
        hub.service.verify_email(token)


def test_verification_link_expires(hub: Hub) -> None:
    hub.service.register("ada@example.org", PASSWORD)
    hub.clock.advance(hours=1)
    with pytest.raises(InvalidToken):
        hub.service.verify_email(hub.last_link_token())


def test_register_rejects_taken_email_and_weak_password(hub: Hub) -> None:
    hub.service.register("ada@example.org", PASSWORD)
    with pytest.raises(EmailTaken):
        hub.service.register("ADA@example.org", PASSWORD)
    with pytest.raises(WeakPassword):
        hub.service.register("bob@example.org", "short")


def test_login_issues_tokens_for_the_user(hub: Hub) -> None:
    user_id = registered(hub)
    pair = hub.service.login("ADA@example.org", PASSWORD)
    assert hub.tokens.verify(pair.access) == user_id
    assert pair.refresh.split(".")[0] and "TokenPair(access=..." in repr(pair)


def test_login_failures_look_the_same(hub: Hub) -> None:
    registered(hub)
    errors = []
    for email, password in [
        ("ada@example.org", "wrong password!"),
        ("nobody@example.org", PASSWORD),
        ("not an email", PASSWORD),
    ]:
        with pytest.raises(InvalidCredentials) as raised:
            hub.service.login(email, password)
        errors.append(raised.value.as_dict())
    assert errors[0] == errors[1] == errors[2]


def test_login_upgrades_an_outdated_hash(hub: Hub) -> None:
    user_id = registered(hub)
    old = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1, hash_len=16, salt_len=8)
    hub.repository.update_password(user_id, old.hash(PASSWORD))
    hub.service.login("ada@example.org", PASSWORD)
    stored = hub.repository.get_user(user_id)
    assert stored is not None and "t=1" in stored.password_hash


def test_refresh_rotates(hub: Hub) -> None:
    user_id = registered(hub)
    first = hub.service.login("ada@example.org", PASSWORD)
    second = hub.service.refresh(first.refresh)
    assert second.refresh != first.refresh
    assert hub.tokens.verify(second.access) == user_id
    third = hub.service.refresh(second.refresh)
    assert third.refresh not in (first.refresh, second.refresh)


def test_reusing_a_refresh_token_revokes_the_family(hub: Hub) -> None:
    registered(hub)
    other_session = hub.service.login("ada@example.org", PASSWORD)
    first = hub.service.login("ada@example.org", PASSWORD)
    newest = hub.service.refresh(first.refresh)
    with pytest.raises(InvalidToken):
        hub.service.refresh(first.refresh)  # the copy of an already exchanged token
    with pytest.raises(InvalidToken):
        hub.service.refresh(newest.refresh)
    # Another device's session is a different family and lives on.
    hub.service.refresh(other_session.refresh)


@pytest.mark.parametrize("mangle", ["tamper", "no-dot", "unknown-id", "empty"])
def test_forged_refresh_tokens_are_rejected(hub: Hub, mangle: str) -> None:
    registered(hub)
    token = hub.service.login("ada@example.org", PASSWORD).refresh
    token_id, secret = token.split(".")
    forged = {
        "tamper": f"{token_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}",
        "no-dot": token_id + secret,
        "unknown-id": f"{'0' * 32}.{secret}",
        "empty": "",
    }[mangle]
    with pytest.raises(InvalidToken):
        hub.service.refresh(forged)
    # A forgery is not a reuse: the real token still works.
    hub.service.refresh(token)


def test_refresh_token_expires(hub: Hub) -> None:
    registered(hub)
    pair = hub.service.login("ada@example.org", PASSWORD)
    hub.clock.advance(days=30)
    with pytest.raises(InvalidToken):
        hub.service.refresh(pair.refresh)


def test_logout_ends_the_session(hub: Hub) -> None:
    registered(hub)
    first = hub.service.login("ada@example.org", PASSWORD)
    second = hub.service.refresh(first.refresh)
    hub.service.logout(second.refresh)
    with pytest.raises(InvalidToken):
        hub.service.refresh(second.refresh)
    hub.service.logout("garbage")  # an unknown token is ignored


def test_password_reset_flow(hub: Hub) -> None:
    user_id = registered(hub)
    session = hub.service.login("ada@example.org", PASSWORD)
    mails_before = len(hub.outbox.messages())
    hub.service.request_password_reset("nobody@example.org")
    assert len(hub.outbox.messages()) == mails_before  # no mail, and no hint either way
    hub.service.request_password_reset("ADA@example.org")
    assert hub.last_mail()["Subject"] == "Reset your password"
    token = hub.last_link_token()
    with pytest.raises(WeakPassword):
        hub.service.reset_password(token, "aaaaaaaaaaaa")
    hub.service.reset_password(token, "a brand new secret")  # the weak try kept the link
    with pytest.raises(InvalidToken):
        hub.service.reset_password(token, "another new secret")
    with pytest.raises(InvalidToken):
        hub.service.refresh(session.refresh)  # every session ended
    with pytest.raises(InvalidCredentials):
        hub.service.login("ada@example.org", PASSWORD)
    new_session = hub.service.login("ada@example.org", "a brand new secret")
    assert hub.tokens.verify(new_session.access) == user_id


def test_reset_link_expires_and_is_not_a_verification_link(hub: Hub) -> None:
    registered(hub)
    hub.service.request_password_reset("ada@example.org")
    token = hub.last_link_token()
    with pytest.raises(InvalidToken):
        hub.service.verify_email(token)
    hub.clock.advance(minutes=61)
    with pytest.raises(InvalidToken):
        hub.service.reset_password(token, "a brand new secret")


def test_change_password(hub: Hub) -> None:
    user_id = registered(hub)
    old_session = hub.service.login("ada@example.org", PASSWORD)
    with pytest.raises(InvalidCredentials):
        hub.service.change_password(user_id, "not my password", "a brand new secret")
    fresh = hub.service.change_password(user_id, PASSWORD, "a brand new secret")
    with pytest.raises(InvalidToken):
        hub.service.refresh(old_session.refresh)
    hub.service.refresh(fresh.refresh)
    hub.service.login("ada@example.org", "a brand new secret")


def test_delete_account(hub: Hub) -> None:
    user_id = registered(hub)
    pair = hub.service.login("ada@example.org", PASSWORD)
    hub.service.delete_account(user_id)
    with pytest.raises(InvalidToken):
        hub.service.refresh(pair.refresh)
    with pytest.raises(InvalidCredentials):
        hub.service.login("ada@example.org", PASSWORD)


def test_mail_bodies_and_tokens_stay_out_of_the_log(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        hub.service.register("ada@example.org", PASSWORD)
        pair = hub.service.login("ada@example.org", PASSWORD)
    assert "Confirm your email address" in caplog.text  # the subject is logged
    for secret in (hub.last_link_token(), pair.access, pair.refresh, PASSWORD):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    ("password", "error"),
    [
        ("short", WeakPassword),
        ("123456789", WeakPassword),
        ("zzzzzzzzzzzzzzzz", WeakPassword),
        ("x" * 1025, InvalidParameter),
    ],
)
def test_password_policy(password: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_password_policy(password)
    check_password_policy("ten chars!")
