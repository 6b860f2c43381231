"""``/auth``: registration, email verification, sessions, password reset and the caller's account.

Login, registration and reset requests pass the ``rate_limit`` limiter first (per client IP
and per email). A reset request answers 202 whether or not the address has an account, and
a failed login answers the same 401 for an unknown email as for a wrong password.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from cellhub.services import deletion
from cellhub.services.accounts import TokenPair
from cellhub_api.container import HubServices
from cellhub_api.deps import CurrentUser, Services
from cellhub_api.rate_limit import ClientIp, RateLimiter
from cellhub_api.schemas.accounts import (
    EmailVerification,
    LoginRequest,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenPairOut,
    UserCreate,
    UserOut,
)

router = APIRouter(prefix="/auth", tags=["auth"])

_NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.post("/register", status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, services: Services, limiter: RateLimiter, ip: ClientIp) -> UserOut:
    limiter.check("register", client_ip=ip, email=body.email)
    user = services.accounts.register(body.email, body.password, display_name=body.display_name)
    return UserOut.of(user)


@router.post("/verify-email", status_code=_NO_CONTENT)
def verify_email(body: EmailVerification, services: Services) -> Response:
    services.accounts.verify_email(body.token)
    return Response(status_code=_NO_CONTENT)


@router.post("/login")
def login(
    body: LoginRequest, services: Services, limiter: RateLimiter, ip: ClientIp
) -> TokenPairOut:
    limiter.check("login", client_ip=ip, email=body.email)
    return _tokens(services, services.accounts.login(body.email, body.password))


@router.post("/refresh")
def refresh(body: RefreshRequest, services: Services) -> TokenPairOut:
    return _tokens(services, services.accounts.refresh(body.refresh_token))


@router.post("/logout", status_code=_NO_CONTENT)
def logout(body: RefreshRequest, services: Services) -> Response:
    services.accounts.logout(body.refresh_token)
    return Response(status_code=_NO_CONTENT)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, response_class=Response)
def request_password_reset(
    body: PasswordResetRequest, services: Services, limiter: RateLimiter, ip: ClientIp
) -> Response:
    limiter.check("password_reset", client_ip=ip, email=body.email)
    services.accounts.request_password_reset(body.email)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post("/password-reset/confirm", status_code=_NO_CONTENT)
def confirm_password_reset(body: PasswordResetConfirm, services: Services) -> Response:
    services.accounts.reset_password(body.token, body.new_password)
    return Response(status_code=_NO_CONTENT)


@router.post("/change-password")
def change_password(body: PasswordChange, user: CurrentUser, services: Services) -> TokenPairOut:
    pair = services.accounts.change_password(user.id, body.old_password, body.new_password)
    return _tokens(services, pair)


@router.get("/me")
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.delete("/me", status_code=_NO_CONTENT)
def delete_account(user: CurrentUser, services: Services) -> Response:

    deletion.leave_every_project(services.projects, services.blobs, user.id)
    services.accounts.delete_account(user.id)
    return Response(status_code=_NO_CONTENT)


def _tokens(services: HubServices, pair: TokenPair) -> TokenPairOut:
    return TokenPairOut.of(pair, expires_in=services.access_tokens.ttl_seconds)
