"""Bodies of the ``/auth`` routes: registration, sessions, mailed tokens and the caller.

Emails are plain strings here: their shape is checked (and normalised) by the account
service, so the API and the service cannot disagree on what an address is. Passwords are
capped in length before they reach the hasher; the policy itself lives in the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cellhub.domain.accounts import MAX_EMAIL_LENGTH, User
from cellhub.services.accounts import TokenPair
from cellhub.services.passwords import MAX_PASSWORD_LENGTH

Email = Field(min_length=3, max_length=MAX_EMAIL_LENGTH)
Password = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
# Mailed and refresh tokens are ~50-90 characters; anything far longer is not ours.
Token = Field(min_length=1, max_length=512)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Body):
    email: str = Email
    password: str = Password
    display_name: str = Field(default="", max_length=100)


class UserOut(BaseModel):
    id: str
    email: str
    email_verified: bool
    display_name: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            email_verified=user.email_verified,
            display_name=user.display_name,
            created_at=user.created_at,
        )


class LoginRequest(_Body):
    email: str = Email
    password: str = Password


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds the access token stays valid")

    @classmethod
    def of(cls, pair: TokenPair, *, expires_in: int) -> TokenPairOut:
        return cls(access_token=pair.access, refresh_token=pair.refresh, expires_in=expires_in)


class RefreshRequest(_Body):
    refresh_token: str = Token


class EmailVerification(_Body):
    token: str = Token


class PasswordResetRequest(_Body):
    email: str = Email


class PasswordResetConfirm(_Body):
    token: str = Token
    new_password: str = Password


class PasswordChange(_Body):
    old_password: str = Password
    new_password: str = Password
