"""Access tokens: only an unexpired HS256 token with our key, issuer and audience passes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from cellhub.errors import AuthenticationError, InvalidParameter, InvalidToken
from cellhub.services.access_tokens import AccessTokens

KEY = b"0123456789abcdef0123456789abcdef"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def craft(
    header: dict[str, Any], claims: dict[str, Any], sign: bytes | None, hash_name: str = "sha256"
) -> str:
    """A compact JWS built by hand, so no library refuses to produce the bad ones."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if sign is None:
        return signing_input + "."
    digest = hmac.new(sign, signing_input.encode(), getattr(hashlib, hash_name)).digest()
    return f"{signing_input}.{b64(digest)}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens(clock: FakeClock) -> AccessTokens:
    return AccessTokens(KEY, issuer="cellhub", audience="cellhub-api", clock=clock)


def good_claims(**changes: Any) -> dict[str, Any]:
    now = int(START.timestamp())
    claims = {
        "sub": "user-1",
        "iat": now,
        "exp": now + 900,
        "iss": "cellhub",
        "aud": "cellhub-api",
        "jti": "j1",
    }
    claims.update(changes)
    return claims


def test_issue_then_verify(tokens: AccessTokens) -> None:
    token = tokens.issue("user-1")
    assert tokens.verify(token) == "user-1"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"sub", "iat", "exp", "iss", "aud", "jti"}
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert tokens.issue("user-1") != token  # the jti differs


def test_hand_crafted_good_token_passes(tokens: AccessTokens) -> None:
    # Guards the crafting below: the rejections are for the named defect, not a crafting bug.
    assert tokens.verify(craft({"alg": "HS256", "typ": "JWT"}, good_claims(), KEY)) == "user-1"


def test_expired_token_is_rejected(tokens: AccessTokens, clock: FakeClock) -> None:
    token = tokens.issue("user-1")
    clock.now = START + timedelta(seconds=899)
    assert tokens.verify(token) == "user-1"
    clock.now = START + timedelta(seconds=900)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_token_from_the_future_is_rejected(tokens: AccessTokens, clock: FakeClock) -> None:
    token = tokens.issue("user-1")
    clock.now = START - timedelta(minutes=5)
    with pytest.raises(InvalidToken):
        tokens.verify(token)


BAD_TOKENS = {
    "alg none": craft({"alg": "none", "typ": "JWT"}, good_claims(), None),
    "alg None, signed": craft({"alg": "None"}, good_claims(), KEY),
    # Signed correctly for its header with our own key: only the algorithm pin stops it.
    "HS512 with our key": craft({"alg": "HS512"}, good_claims(), KEY, "sha512"),
    "HS256 signature under an HS512 header": craft({"alg": "HS512"}, good_claims(), KEY),
    "RS256 header, HMAC with key": craft({"alg": "RS256"}, good_claims(), KEY),
    "wrong key": craft({"alg": "HS256"}, good_claims(), b"x" * 32),
    "wrong audience": craft({"alg": "HS256"}, good_claims(aud="elsewhere"), KEY),
    "wrong issuer": craft({"alg": "HS256"}, good_claims(iss="evil"), KEY),
    "no exp": craft({"alg": "HS256"}, {k: v for k, v in good_claims().items() if k != "exp"}, KEY),
    "no sub": craft({"alg": "HS256"}, {k: v for k, v in good_claims().items() if k != "sub"}, KEY),
    "numeric sub": craft({"alg": "HS256"}, good_claims(sub=7), KEY),
    "garbage": "not.a.token",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_bad_tokens_are_rejected(tokens: AccessTokens, name: str) -> None:
    with pytest.raises(InvalidToken) as raised:
        tokens.verify(BAD_TOKENS[name])
    assert raised.value.code == "invalid_token"
    assert isinstance(raised.value, AuthenticationError)


def test_tampered_payload_is_rejected(tokens: AccessTokens) -> None:
    header, payload, signature = tokens.issue("user-1").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{b64(json.dumps(claims).encode())}.{signature}")


def test_tampered_signature_is_rejected(tokens: AccessTokens) -> None:
    header, payload, signature = tokens.issue("user-1").split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{payload}.{flipped}")


def test_short_keys_are_refused() -> None:
    with pytest.raises(InvalidParameter):
        AccessTokens(b"short", issuer="cellhub", audience="cellhub-api")


def test_repr_hides_the_key(tokens: AccessTokens) -> None:
    assert KEY.decode() not in repr(tokens)
