"""Short-lived access tokens: HS256 JWTs that name the user, checked on every request.

A token carries ``sub`` (the user id), ``iat``, ``exp``, ``iss``, ``aud`` and a random
``jti``. Verification accepts exactly HS256 with our key, issuer and audience, and rejects
everything else (``alg: none``, other HMAC sizes, RSA/EC headers that invite key confusion,
forged or truncated signatures, expired tokens) with one ``InvalidToken``, whose reason
says only "expired" (so a client knows to refresh) or "not valid". Expiry is checked against
the injected clock rather than PyJWT's, so tests and the service agree on what "now" is.

Neither tokens nor the key are ever logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import jwt

from cellhub.domain.accounts import utc_now
from cellhub.errors import InvalidParameter, InvalidToken
from cellhub.ports.accounts_repository import AccountsRepository

ALGORITHM = "HS256"
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
MIN_SECRET_BYTES = 32
_REQUIRED_CLAIMS = ["sub", "iat", "exp", "iss", "aud", "jti"]


class AccessTokens:
    """Issues and verifies the access tokens of one deployment (one key, issuer, audience)."""

    def __init__(
        self,
        secret: bytes,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int = 900,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise InvalidParameter(f"the access-token key needs {MIN_SECRET_BYTES}+ bytes")
        if ttl_seconds <= 0:
            raise InvalidParameter("ttl_seconds must be positive", ttl_seconds=ttl_seconds)
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def __repr__(self) -> str:
        # The default dataclass-like repr would print the key into logs and tracebacks.
        return f"AccessTokens(issuer={self.issuer!r}, audience={self.audience!r})"

    def issue(self, user_id: str) -> str:
        """A signed token for ``user_id``, valid for ``ttl_seconds`` from the clock's now."""
        now = self._clock()
        claims = {
            "sub": user_id,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_seconds)).timestamp()),
            "iss": self.issuer,
            "aud": self.audience,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> str:
        """The user id the token was issued for; ``InvalidToken`` for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                # Pinned explicitly: the header's own "alg" is never trusted.
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": _REQUIRED_CLAIMS,
                    # Time claims are checked below against the injected clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise InvalidToken("the access token is not valid") from None
        subject, expires, issued = claims["sub"], claims["exp"], claims["iat"]
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("the access token is not valid")
        if not isinstance(expires, int | float) or not isinstance(issued, int | float):
            raise InvalidToken("the access token is not valid")
        now = self._clock().timestamp()
        if now >= expires:
            raise InvalidToken("the access token has expired")
        if issued > now + 1:
            # A token from the future was not made by this clock's issuer.
            raise InvalidToken("the access token is not valid")
        return subject


def live_user(tokens: AccessTokens, users: AccountsRepository, token: object) -> str | None:
    """The id of the existing account ``token`` was issued to, else None: for the live
    connections (the embedded ``/ws`` and the cloud's ``$connect``), which refuse rather
    than raise. A token of a deleted account is refused too."""
    if not isinstance(token, str) or not token:
        return None
    try:
        user_id = tokens.verify(token)
    except InvalidToken:
        return None
    return user_id if users.get_user(user_id) is not None else None
