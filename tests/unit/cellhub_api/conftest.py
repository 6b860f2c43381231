"""API fixtures: an embedded hub under ``tmp_path``, a test client, and logged-in users.

``login(email)`` registers the address (if new), verifies it from the outbox mail, logs in
and returns ``Authorization`` headers. ``sign_up(email)`` does the same through the services
for a new address and also returns the user id; ``member(project_id, user_id, role)`` adds a
user to a project. The client's rate limiter is generous, so tests that
make many accounts are not throttled; rate-limit tests install a tight one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from cellhub.domain.projects import Member, Role
from cellhub.services.passwords import Passwords
from cellhub_api.app import create_app
from cellhub_api.container import HubServices
from cellhub_api.rate_limit import ACTIONS, AuthRateLimiter, Limit
from cellhub_local.wiring import build_local_services

PASSWORD = "correct horse battery"
PUBLIC_URL = "http://testserver"

Headers = dict[str, str]
Login = Callable[[str], Headers]
MailedToken = Callable[[str, str], str]
SignUp = Callable[[str], tuple[str, Headers]]
AddMember = Callable[[str, str, Role], None]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "hub"


@pytest.fixture
def services(data_dir: Path) -> HubServices:
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    return build_local_services(data_dir, public_url=PUBLIC_URL, passwords=cheap)


@pytest.fixture
def client(services: HubServices) -> Iterator[TestClient]:
    app = create_app(services)
    generous = {action: Limit(10_000, 60) for action in ACTIONS}
    app.state.rate_limiter = AuthRateLimiter(per_ip=generous, per_email=generous)
    with TestClient(app) as test_client:
        yield test_client


def _outbox(data_dir: Path) -> list[Message]:
    paths = sorted((data_dir / "outbox").glob("*.eml"))
    return [message_from_bytes(path.read_bytes()) for path in paths]


@pytest.fixture
def mailed_token(data_dir: Path) -> MailedToken:
    """``mailed_token(to, subject_word)``: the token in the latest such mail to ``to``."""

    def find(to: str, subject_word: str) -> str:
        for message in reversed(_outbox(data_dir)):
            if message["To"] == to and subject_word.lower() in str(message["Subject"]).lower():
                body = message.get_payload(decode=True)
                assert isinstance(body, bytes)
                match = re.search(r"token=(\S+)", body.decode())
                assert match is not None, "the mail carries no token link"
                return match.group(1)
        raise AssertionError(f"no {subject_word!r} mail to {to}")

    return find


@pytest.fixture
def login(client: TestClient, mailed_token: MailedToken) -> Login:
    def log_in(email: str) -> dict[str, str]:
        registered = client.post("/auth/register", json={"email": email, "password": PASSWORD})
        if registered.status_code == 201:
            token = mailed_token(email, "confirm")
            assert client.post("/auth/verify-email", json={"token": token}).status_code == 204
        response = client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return log_in


@pytest.fixture
def sign_up(services: HubServices, mailed_token: MailedToken) -> SignUp:
    """``sign_up(email)``: register, verify and log in a new user; ``(user_id, headers)``."""

    def register(email: str) -> tuple[str, Headers]:
        user = services.accounts.register(email, PASSWORD)
        services.accounts.verify_email(mailed_token(email, "confirm"))
        tokens = services.accounts.login(email, PASSWORD)
        return user.id, {"Authorization": f"Bearer {tokens.access}"}

    return register


@pytest.fixture
def member(services: HubServices) -> AddMember:
    """``member(project_id, user_id, role)``: add an existing user to a project."""

    def add(project_id: str, user_id: str, role: Role) -> None:
        services.projects.add_member(Member(project_id, user_id, role))

    return add
