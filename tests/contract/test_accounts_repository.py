"""The accounts contract: every ``AccountsRepository`` adapter keeps these invariants.

Every test runs against each factory in ``FACTORIES``: SQLite, and DynamoDB on a fresh moto
table. To add an adapter, write a factory beside these and list it there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cellhub.adapters.aws.dynamodb_accounts import DynamoAccountsRepository
from cellhub.adapters.local.sqlite_accounts import SqliteAccountsRepository
from cellhub.domain.accounts import OneTimeToken, RefreshToken, User, new_id
from cellhub.errors import EmailTaken, InputNotFound
from cellhub.ports.accounts_repository import AccountsRepository

from .conftest import moto_hub_table

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def sqlite_repository(tmp_path: Path) -> Iterator[AccountsRepository]:
    repository = SqliteAccountsRepository(tmp_path / "hub.sqlite3")
    yield repository
    repository.close()


def dynamodb_repository(tmp_path: Path) -> Iterator[AccountsRepository]:
    with moto_hub_table() as table:
        yield DynamoAccountsRepository(table)


FACTORIES: dict[str, Callable[[Path], Iterator[AccountsRepository]]] = {
    "sqlite": sqlite_repository,
    "dynamodb": dynamodb_repository,
}


@pytest.fixture(params=sorted(FACTORIES))
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AccountsRepository]:
    yield from FACTORIES[request.param](tmp_path)


def make_user(email: str = "ada@example.org") -> User:
    return User(
        id=new_id(),
        email=email,
        password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
        email_verified=False,
        created_at=NOW,
        display_name="Ada",
    )


def make_refresh(user: User, family_id: str | None = None) -> RefreshToken:
    return RefreshToken(
        id=new_id(),
        family_id=family_id or new_id(),
        user_id=user.id,
        token_hash=new_id(),
        expires_at=NOW + timedelta(days=30),
    )


def make_once(user: User, purpose: str = "reset_password", token_hash: str = "h1") -> OneTimeToken:
    return OneTimeToken(
        id=new_id(),
        user_id=user.id,
        purpose=purpose,  # type: ignore[arg-type]
        token_hash=token_hash,
        expires_at=NOW + timedelta(hours=1),
    )


def test_user_round_trips(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    assert repository.get_user(user.id) == user
    assert repository.find_user_by_email("  ADA@Example.org ") == user
    assert repository.get_user(new_id()) is None
    assert repository.find_user_by_email("nobody@example.org") is None


def test_email_is_unique_whatever_its_case(repository: AccountsRepository) -> None:
    repository.create_user(make_user("ada@example.org"))
    second = make_user("ada@example.org")
    with pytest.raises(EmailTaken) as raised:
        repository.create_user(second)
    assert raised.value.code == "email_taken"
    assert repository.get_user(second.id) is None


def test_update_password_and_verify_email(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    repository.update_password(user.id, "$argon2id$new")
    repository.mark_email_verified(user.id)
    stored = repository.get_user(user.id)
    assert stored is not None
    assert (stored.password_hash, stored.email_verified) == ("$argon2id$new", True)
    with pytest.raises(InputNotFound):
        repository.update_password(new_id(), "x")
    with pytest.raises(InputNotFound):
        repository.mark_email_verified(new_id())


def test_refresh_token_is_marked_used_once(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    token = make_refresh(user)
    repository.add_refresh_token(token)
    assert repository.get_refresh_token(token.id) == token
    assert repository.mark_refresh_token_used(token.id, NOW) is True
    assert repository.mark_refresh_token_used(token.id, NOW) is False
    stored = repository.get_refresh_token(token.id)
    assert stored is not None and stored.used_at == NOW
    assert repository.mark_refresh_token_used(new_id(), NOW) is False


def test_mark_used_is_atomic_across_threads(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    token = make_refresh(user)
    repository.add_refresh_token(token)
    barrier = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def exchange() -> None:
        barrier.wait()
        won = repository.mark_refresh_token_used(token.id, NOW)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=exchange) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_revoke_family_spares_other_families(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    first = make_refresh(user)
    sibling = make_refresh(user, family_id=first.family_id)
    other = make_refresh(user)
    for token in (first, sibling, other):
        repository.add_refresh_token(token)
    repository.revoke_refresh_family(first.family_id, NOW)
    revoked = {
        token.id: getattr(repository.get_refresh_token(token.id), "revoked_at", "missing")
        for token in (first, sibling, other)
    }
    assert revoked == {first.id: NOW, sibling.id: NOW, other.id: None}


def test_token_added_to_a_revoked_family_is_revoked(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    first = make_refresh(user)
    repository.add_refresh_token(first)
    repository.revoke_refresh_family(first.family_id, NOW)
    late = make_refresh(user, family_id=first.family_id)
    repository.add_refresh_token(late)
    stored = repository.get_refresh_token(late.id)
    assert stored is not None and stored.revoked_at == NOW


def test_revoke_all_for_user(repository: AccountsRepository) -> None:
    ada, bob = make_user("ada@example.org"), make_user("bob@example.org")
    repository.create_user(ada)
    repository.create_user(bob)
    tokens = [make_refresh(ada), make_refresh(ada), make_refresh(bob)]
    for token in tokens:
        repository.add_refresh_token(token)
    repository.revoke_all_refresh_tokens(ada.id, NOW)
    states = [getattr(repository.get_refresh_token(t.id), "revoked_at", "x") for t in tokens]
    assert states == [NOW, NOW, None]


def test_one_time_token_is_consumed_once(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    repository.add_one_time_token(make_once(user, "reset_password", "hash-a"))
    assert repository.consume_one_time_token("hash-a", "verify_email", NOW) is None
    assert repository.consume_one_time_token("hash-a", "reset_password", NOW) == user.id
    assert repository.consume_one_time_token("hash-a", "reset_password", NOW) is None
    assert repository.consume_one_time_token("unknown", "reset_password", NOW) is None


def test_one_time_token_expires(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    token = make_once(user, "verify_email", "hash-b")
    repository.add_one_time_token(token)
    assert repository.consume_one_time_token("hash-b", "verify_email", token.expires_at) is None
    just_before = token.expires_at - timedelta(microseconds=1)
    assert repository.consume_one_time_token("hash-b", "verify_email", just_before) == user.id


def test_one_time_token_consumed_once_across_threads(repository: AccountsRepository) -> None:
    user = make_user()
    repository.create_user(user)
    repository.add_one_time_token(make_once(user, "reset_password", "hash-c"))
    barrier = threading.Barrier(8)
    results: list[str | None] = []

    def consume() -> None:
        barrier.wait()
        results.append(repository.consume_one_time_token("hash-c", "reset_password", NOW))

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(user.id) == 1 and results.count(None) == 7


def test_delete_user_cascades_to_tokens(repository: AccountsRepository) -> None:
    user, other = make_user("ada@example.org"), make_user("bob@example.org")
    repository.create_user(user)
    repository.create_user(other)
    token, kept = make_refresh(user), make_refresh(other)
    repository.add_refresh_token(token)
    repository.add_refresh_token(kept)
    repository.add_one_time_token(make_once(user, "verify_email", "hash-d"))
    repository.delete_user(user.id)
    repository.delete_user(user.id)  # deleting twice is a no-op
    assert repository.get_user(user.id) is None
    assert repository.find_user_by_email(user.email) is None
    assert repository.get_refresh_token(token.id) is None
    assert repository.get_refresh_token(kept.id) == kept
    assert repository.consume_one_time_token("hash-d", "verify_email", NOW) is None
    # The address is free again.
    repository.create_user(make_user("ada@example.org"))
