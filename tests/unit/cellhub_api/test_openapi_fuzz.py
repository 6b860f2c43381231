"""Property-based fuzzing of every operation in the app's OpenAPI schema.

Schemathesis generates requests from ``/openapi.json`` and sends them through the ASGI app
in process. Whatever it sends, no route may answer 5xx, every status answered must be
documented, and the body must match the documented schema.

Schemathesis parametrises at import time, so the hub is built once for the module under a
temporary directory (removed at exit) rather than through the function-scoped fixtures in
``conftest.py``; it is wired the same way: cheap password hashing, a generous rate limiter.
About a quarter of the requests go without credentials (they must get 401, never 5xx); the
rest carry a real user's bearer token, and a path's ``project_id`` is often swapped for the
id of a project that user owns, so project-scoped routes get past the 404 sometimes.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from email import message_from_bytes
from pathlib import Path

import schemathesis
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from cellhub import errors
from cellhub.services.passwords import Passwords
from cellhub_api.app import create_app
from cellhub_api.container import HubServices
from cellhub_api.rate_limit import ACTIONS, AuthRateLimiter, Limit
from cellhub_local.wiring import build_local_services

PASSWORD = "correct horse battery"
EMAIL = "fuzz@example.org"
PUBLIC_URL = "http://testserver"
MAX_EXAMPLES = 20
# Operations that need a signed-in user; the others are public or take a signed link.
SIGNED_IN_PREFIXES = ("/projects", "/auth/me", "/auth/change-password")

ROOT = Path(tempfile.mkdtemp(prefix="cellhub-fuzz-"))
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)


def _build_app() -> tuple[FastAPI, HubServices]:
    cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    hub = build_local_services(ROOT / "hub", public_url=PUBLIC_URL, passwords=cheap)
    application = create_app(hub)
    generous = {action: Limit(1_000_000, 60) for action in ACTIONS}
    application.state.rate_limiter = AuthRateLimiter(per_ip=generous, per_email=generous)
    return application, hub


app, services = _build_app()
client = TestClient(app)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


def _confirm_token() -> str:
    for path in sorted((ROOT / "hub" / "outbox").glob("*.eml"), reverse=True):
        message = message_from_bytes(path.read_bytes())
        body = message.get_payload(decode=True)
        match = re.search(r"token=(\S+)", body.decode()) if isinstance(body, bytes) else None
        if message["To"] == EMAIL and match is not None:
            return match.group(1)
    raise AssertionError("no confirmation mail for the fuzzing user")


def _auth_headers() -> dict[str, str]:
    """A fresh token for the fuzzing user, re-registering it if a fuzzed request deleted it."""
    try:
        tokens = services.accounts.login(EMAIL, PASSWORD)
    except errors.CellhubError:
        services.accounts.register(EMAIL, PASSWORD)
        services.accounts.verify_email(_confirm_token())
        tokens = services.accounts.login(EMAIL, PASSWORD)
    return {"Authorization": f"Bearer {tokens.access}"}


def _project_id(headers: dict[str, str]) -> str:
    """A project the fuzzing user owns, created anew if a fuzzed request deleted them all."""
    listed = client.get("/projects", headers=headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    if items:
        return str(items[0]["id"])
    created = client.post("/projects", json={"name": "fuzz"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


@schema.given(authenticated=st.integers(0, 3).map(bool), real_project=st.booleans())
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_operation_answers_a_server_error(
    case: Case, authenticated: bool, real_project: bool
) -> None:
    headers = dict(case.headers or {})
    headers.pop("Authorization", None)
    headers.pop("authorization", None)
    if authenticated:
        headers.update(_auth_headers())
        if real_project and case.path_parameters and "project_id" in case.path_parameters:
            case.path_parameters["project_id"] = _project_id(headers)
    case.headers = headers
    response = case.call()
    # Every status must be documented: success codes per route, error codes app-wide.
    case.validate_response(
        response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
    if not authenticated and case.path.startswith(SIGNED_IN_PREFIXES):
        assert response.status_code not in range(200, 300), "answered without credentials"
