"""The ``/auth`` routes over HTTP: the account flow, token checks, rate limits, deletion."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from cellhub.errors import RateLimited
from cellhub_api.rate_limit import AuthRateLimiter, Limit

PASSWORD = "correct horse battery"

MailedToken = Callable[[str, str], str]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _register(client: TestClient, email: str) -> None:
    response = client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


def _login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def test_full_account_flow(client: TestClient, mailed_token: MailedToken) -> None:
    _register(client, "Ada@Example.org")
    token = mailed_token("ada@example.org", "confirm")
    assert client.post("/auth/verify-email", json={"token": token}).status_code == 204
    # The link works once.
    assert client.post("/auth/verify-email", json={"token": token}).status_code == 401

    pair = _login(client, "ada@example.org")
    assert pair["token_type"] == "bearer"
    me = client.get("/auth/me", headers=_bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.org"
    assert me.json()["email_verified"] is True
    assert "password_hash" not in me.json()

    refreshed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 200
    successor = refreshed.json()["refresh_token"]
    assert successor != pair["refresh_token"]

    # Presenting the old token again is a reuse: refused, and the whole family revoked.
    reused = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "invalid_token"
    assert client.post("/auth/refresh", json={"refresh_token": successor}).status_code == 401

    again = _login(client, "ada@example.org")
    assert (
        client.post("/auth/logout", json={"refresh_token": again["refresh_token"]}).status_code
        == 204
    )
    after = client.post("/auth/refresh", json={"refresh_token": again["refresh_token"]})
    assert after.status_code == 401


def test_register_twice_is_a_conflict(client: TestClient) -> None:
    _register(client, "bo@example.org")
    response = client.post("/auth/register", json={"email": "BO@example.org", "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "not-an-address", "password": PASSWORD}, "invalid_parameter"),
        ({"email": "weak@example.org", "password": "short"}, "weak_password"),
        ({"email": "x@example.org"}, "invalid_request"),
    ],
)
def test_register_rejects_bad_input(client: TestClient, body: dict[str, str], code: str) -> None:
    response = client.post("/auth/register", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_wrong_password_and_unknown_email_look_alike(client: TestClient) -> None:
    _register(client, "cy@example.org")
    wrong = client.post(
        "/auth/login", json={"email": "cy@example.org", "password": "not it at all"}
    )
    unknown = client.post("/auth/login", json={"email": "nobody@example.org", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"


def test_login_rate_limit_answers_429_with_retry_after(client: TestClient) -> None:
    now = [1000.0]
    client.app.state.rate_limiter = AuthRateLimiter(  # type: ignore[attr-defined]
        per_ip={"login": Limit(100, 60)}, per_email={"login": Limit(2, 60)}, clock=lambda: now[0]
    )
    _register(client, "dee@example.org")
    body = {"email": "dee@example.org", "password": "wrong password!"}
    assert client.post("/auth/login", json=body).status_code == 401
    assert client.post("/auth/login", json=body).status_code == 401
    limited = client.post("/auth/login", json=body)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "60"
    # Even the right password waits: the limit is per account, not per failure.
    assert client.post("/auth/login", json={**body, "password": PASSWORD}).status_code == 429
    now[0] += 61
    assert client.post("/auth/login", json={**body, "password": PASSWORD}).status_code == 200


def test_register_and_reset_are_limited_per_ip(client: TestClient) -> None:
    limiter = AuthRateLimiter()
    limiter.configure("register", per_ip=Limit(1, 3600))
    limiter.configure("password_reset", per_ip=Limit(1, 3600))
    client.app.state.rate_limiter = limiter  # type: ignore[attr-defined]
    _register(client, "eve@example.org")
    second = client.post("/auth/register", json={"email": "fay@example.org", "password": PASSWORD})
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    assert client.post("/auth/password-reset", json={"email": "eve@example.org"}).status_code == 202
    assert client.post("/auth/password-reset", json={"email": "eve@example.org"}).status_code == 429


def test_password_reset(client: TestClient, mailed_token: MailedToken) -> None:
    _register(client, "gus@example.org")
    session = _login(client, "gus@example.org")
    assert (
        client.post("/auth/password-reset", json={"email": "nobody@example.org"}).status_code == 202
    )
    assert client.post("/auth/password-reset", json={"email": "gus@example.org"}).status_code == 202
    token = mailed_token("gus@example.org", "reset")
    new = "a brand new passphrase"
    body = {"token": token, "new_password": new}
    assert client.post("/auth/password-reset/confirm", json=body).status_code == 204
    assert client.post("/auth/password-reset/confirm", json=body).status_code == 401
    # The reset ended the old sessions.
    old = client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert old.status_code == 401
    _login(client, "gus@example.org", new)


def test_password_reset_request_is_documented_without_a_body(client: TestClient) -> None:
    # The 202 carries no body, so the schema must not promise a JSON one.
    answered = client.post("/auth/password-reset", json={"email": "hal@example.org"})
    assert answered.status_code == 202
    assert answered.content == b""
    operation = client.get("/openapi.json").json()["paths"]["/auth/password-reset"]["post"]
    assert "content" not in operation["responses"]["202"]


def test_change_password(client: TestClient) -> None:
    _register(client, "hal@example.org")
    session = _login(client, "hal@example.org")
    headers = _bearer(session["access_token"])
    wrong = {"old_password": "not my password", "new_password": "another good one"}
    assert client.post("/auth/change-password", json=wrong).status_code == 401
    assert client.post("/auth/change-password", json=wrong, headers=headers).status_code == 401
    body = {"old_password": PASSWORD, "new_password": "another good one"}
    changed = client.post("/auth/change-password", json=body, headers=headers)
    assert changed.status_code == 200
    assert changed.json()["refresh_token"] != session["refresh_token"]
    old = client.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert old.status_code == 401
    _login(client, "hal@example.org", "another good one")


def _jwt_secret(data_dir: Path) -> bytes:
    secret: str = json.loads((data_dir / "secrets.json").read_text())["jwt"]
    return secret.encode()


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(sub: str, issued: datetime, **extra: object) -> dict[str, object]:
    return {
        "sub": sub,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=15)).timestamp()),
        "iss": "http://testserver",
        "aud": "cellhub",
        "jti": "0" * 32,
        **extra,
    }


def test_bad_access_tokens_are_401(client: TestClient, data_dir: Path) -> None:
    _register(client, "ivy@example.org")
    good = _login(client, "ivy@example.org")["access_token"]
    user_id = client.get("/auth/me", headers=_bearer(good)).json()["id"]
    secret = _jwt_secret(data_dir)
    now = datetime.now(UTC)
    expired = jwt.encode(_claims(user_id, now - timedelta(hours=1)), secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    tampered_payload = _b64({**_claims(user_id, now), "sub": "someone-else"})
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user_id, now))}."
    for token in (
        expired,
        f"{header}.{tampered_payload}.{signature}",
        f"{header}.{payload}.{flipped}",
        unsigned,
        "not-a-jwt",
    ):
        response = client.get("/auth/me", headers=_bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "invalid_token"
    assert client.get("/auth/me").status_code == 401
    assert client.get("/auth/me", headers=_bearer(good)).status_code == 200


def test_limiter_window_slides() -> None:
    now = [0.0]
    limiter = AuthRateLimiter(per_ip={"login": Limit(2, 10)}, per_email={}, clock=lambda: now[0])
    limiter.check("login", client_ip="1.2.3.4", email="a@example.org")
    now[0] = 4.0
    limiter.check("login", client_ip="1.2.3.4")
    with pytest.raises(RateLimited) as raised:
        limiter.check("login", client_ip="1.2.3.4")
    assert raised.value.details["retry_after"] == 6
    limiter.check("login", client_ip="5.6.7.8")  # another client is unaffected
    now[0] = 10.0  # the first attempt left the window; the refused one never counted
    limiter.check("login", client_ip="1.2.3.4")
    with pytest.raises(RateLimited):
        limiter.check("login", client_ip="1.2.3.4")


def test_limiter_counts_exactly_under_threads() -> None:
    limiter = AuthRateLimiter(per_ip={"register": Limit(50, 60)}, per_email={})
    allowed: list[bool] = []

    def attempt() -> None:
        for _ in range(20):
            try:
                limiter.check("register", client_ip="9.9.9.9")
                allowed.append(True)
            except RateLimited:
                allowed.append(False)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 50


def test_an_undecodable_body_is_an_invalid_request(client: TestClient) -> None:
    response = client.post(
        "/auth/register", content=b"S\xff\xfeH", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    documented = client.get("/openapi.json").json()["paths"]["/auth/register"]["post"]
    assert "400" in documented["responses"]
