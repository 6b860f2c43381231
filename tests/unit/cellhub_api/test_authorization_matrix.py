"""Every authenticated route × every kind of caller: who gets 401, 404, 403, and who gets in.

``MATRIX`` says how to call each route and which project role it needs; a route of the app
that is neither in it nor in ``SKIPPED`` fails ``test_every_route_is_in_the_matrix``, so a
new route cannot ship without its access rules being pinned here. Each call gets a fresh
project (with an image, a job and an export) so that a caller's successful DELETE cannot
change what the next caller sees.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import WebSocketRoute

from cellhub.domain.jobs import Job
from cellhub.domain.projects import Project, Role
from cellhub.exporters import EXPORTERS
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore
from cellhub.services.uploads import FileSpec
from cellhub_api.container import HubServices
from cellhub_api.routes.blobs import DOWNLOAD_PATH, PART_PATH, UPLOAD_PATH

Headers = dict[str, str]
SignUp = Callable[[str], tuple[str, Headers]]
AddMember = Callable[[str, str, Role], None]

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
P = "/projects/{project_id}"
SEG = P + "/images/{image_id}/segmentation"
MODELS = P + "/models"

SKIPPED: dict[str, str] = {
    "/health": "liveness probe, public by design",
    "/metrics": "scraped from inside the deployment, public by design",
    "/docs": "API documentation, public",
    "/docs/oauth2-redirect": "API documentation, public",
    "/redoc": "API documentation, public",
    "/openapi.json": "API schema, public",
    "/ws": "WebSocket: authenticates in its own handshake, not through a bearer header",
    UPLOAD_PATH: "signed blob URL: the signature is the credential",
    PART_PATH: "signed blob URL: the signature is the credential",
    DOWNLOAD_PATH: "signed blob URL: the signature is the credential",
    "/auth/register": "public: creates the account",
    "/auth/verify-email": "public: the mailed token is the credential",
    "/auth/login": "public: issues the tokens",
    "/auth/refresh": "public: the refresh token is the credential",
    "/auth/logout": "public: the refresh token is the credential",
    "/auth/password-reset": "public: mails a reset token",
    "/auth/password-reset/confirm": "public: the mailed token is the credential",
}


@dataclass(frozen=True, slots=True)
class Call:
    """How to call a route: the project role it needs (None: any signed-in user), a body."""

    needs: Role | None
    body: dict[str, Any] | None = None
    # Routes whose resource may be absent in the fixture project (no segmentation saved yet).
    may_be_missing: bool = False


VIEWER, EDITOR, OWNER = Role.VIEWER, Role.EDITOR, Role.OWNER
MATRIX: dict[tuple[str, str], Call] = {
    ("GET", "/auth/me"): Call(None),
    ("DELETE", "/auth/me"): Call(None),
    ("POST", "/auth/change-password"): Call(None, {}),
    ("GET", "/models"): Call(None),
    ("GET", "/projects"): Call(None),
    ("POST", "/projects"): Call(None, {}),
    ("GET", P): Call(VIEWER),
    ("PATCH", P): Call(OWNER, {}),
    ("DELETE", P): Call(OWNER),
    ("GET", P + "/members"): Call(VIEWER),
    ("POST", P + "/members"): Call(OWNER, {}),
    # {user_id} is a bystander member, so this is removing someone else, not leaving.
    ("PATCH", P + "/members/{user_id}"): Call(OWNER, {}),
    ("DELETE", P + "/members/{user_id}"): Call(OWNER),
    ("POST", P + "/uploads"): Call(EDITOR, {}),
    ("POST", P + "/uploads/{image_id}/complete"): Call(EDITOR, {}),
    ("GET", P + "/images"): Call(VIEWER),
    ("GET", P + "/images/{image_id}"): Call(VIEWER),
    ("DELETE", P + "/images/{image_id}"): Call(EDITOR),
    ("POST", P + "/images/delete"): Call(EDITOR, {}),
    ("POST", P + "/segmentations"): Call(EDITOR, {}),
    ("GET", P + "/jobs"): Call(VIEWER),
    ("GET", P + "/jobs/{job_id}"): Call(VIEWER),
    ("POST", P + "/jobs/{job_id}/cancel"): Call(EDITOR),
    ("POST", P + "/exports"): Call(EDITOR, {}),
    ("GET", P + "/exports/{export_id}"): Call(VIEWER),
    ("POST", P + "/exports/{export_id}/cancel"): Call(EDITOR),
    ("GET", P + "/exports/{export_id}/download"): Call(VIEWER),
    ("GET", SEG): Call(VIEWER, may_be_missing=True),
    ("PUT", SEG): Call(EDITOR, {}),
    ("GET", SEG + "/versions"): Call(VIEWER, may_be_missing=True),
    ("GET", SEG + "/versions/{version}"): Call(VIEWER, may_be_missing=True),
    ("POST", SEG + "/revert"): Call(EDITOR, {}),
    ("GET", MODELS): Call(VIEWER),
    ("POST", MODELS + "/finetune"): Call(EDITOR, {}),
    ("POST", MODELS + "/uploads"): Call(EDITOR, {}),
    ("POST", MODELS + "/import"): Call(EDITOR, {}),
    # {job_id} is a segmentation job, which has no model-job report.
    ("GET", MODELS + "/jobs/{job_id}/report"): Call(VIEWER, may_be_missing=True),
    ("DELETE", MODELS + "/{name}"): Call(EDITOR),
}

MEMBERS = ("owner", "editor", "viewer")
TOKEN_PROBLEMS = ("no token", "expired token", "tampered token", "alg:none token")
CALLERS = (*TOKEN_PROBLEMS, "other user", "viewer", "editor", "owner")  # owner last: may delete


def _app_routes(client: TestClient) -> set[tuple[str, str]]:
    keys = set()
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route.original_route, APIWebSocketRoute | WebSocketRoute):
            keys.add(("WS", str(route.path)))
        else:
            assert route.methods, f"a route without methods: {route!r}"
            keys.update((method, str(route.path)) for method in route.methods)
    return keys


def test_every_route_is_in_the_matrix(client: TestClient) -> None:
    routes = {key for key in _app_routes(client) if key[1] not in SKIPPED}
    unknown = sorted(routes - MATRIX.keys())
    assert not unknown, f"add these routes to MATRIX (or SKIPPED, with a reason): {unknown}"
    gone = sorted(MATRIX.keys() - routes)
    assert not gone, f"MATRIX names routes the app no longer has: {gone}"


def test_viewers_are_refused_every_change_in_the_matrix() -> None:
    # The table itself must not let a viewer mutate, nor hide a read behind a higher role.
    for (method, path), call in MATRIX.items():
        if path.startswith("/projects/"):
            assert call.needs is not None, path
            assert (call.needs is VIEWER) == (method not in MUTATING), (method, path)


@dataclass(frozen=True, slots=True)
class World:
    services: HubServices
    users: dict[str, tuple[str, Headers]]
    bad_tokens: dict[str, Headers]
    member: AddMember

    def project(self) -> dict[str, str]:
        """A fresh project of the owner's, with members and one image, job, export and model."""
        owner_id = self.users["owner"][0]
        project = Project.new("matrix", owner_id)
        self.services.projects.create(project)
        for name in ("editor", "viewer", "bystander"):
            role = Role.EDITOR if name == "editor" else Role.VIEWER
            self.member(project.id, self.users[name][0], role)
        spec = FileSpec("cells.png", 1024, "image/png")
        image_id = self.services.uploads.plan(project.id, [spec]).uploads[0].image_id
        job = Job.new(project.id, model="classical", threshold=0.5, total=1, created_by=owner_id)
        self.services.jobs.create_job(job)
        export = self.services.exports.create(
            project.id,
            formats=[next(iter(EXPORTERS))],
            image_ids=None,
            pixel_size_um=None,
            created_by=owner_id,
        )
        ProjectModelStore(self.services.blobs).register(project.id, _model_card(job.id), b"w")
        return {
            "project_id": project.id,
            "name": "ours",
            "image_id": image_id,
            "job_id": job.id,
            "export_id": export.id,
            "user_id": self.users["bystander"][0],
            "version": "1",
        }

    def headers(self, caller: str) -> Headers:
        if caller in self.bad_tokens:
            return self.bad_tokens[caller]
        return self.users["other" if caller == "other user" else caller][1]


def _model_card(job_id: str) -> ProjectModelCard:
    return ProjectModelCard(
        name="ours",
        architecture="unet",
        format="checkpoint",
        origin="imported",
        sha256=hashlib.sha256(b"w").hexdigest(),
        job_id=job_id,
        created_at=datetime.now(UTC),
    )


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bad_tokens(data_dir: Path, owner_id: str, good: str) -> dict[str, Headers]:
    secret = json.loads((data_dir / "secrets.json").read_text())["jwt"].encode()
    now = datetime.now(UTC)

    def claims(issued: datetime, **extra: object) -> dict[str, object]:
        expires = int((issued + timedelta(minutes=15)).timestamp())
        base = {"sub": owner_id, "iat": int(issued.timestamp()), "exp": expires}
        return {**base, "iss": "http://testserver", "aud": "cellhub", "jti": "0" * 32, **extra}

    expired = jwt.encode(claims(now - timedelta(hours=1)), secret, algorithm="HS256")
    header, _, signature = good.split(".")
    tampered = f"{header}.{_b64(claims(now, sub='someone-else'))}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(now))}."
    tokens = {"expired token": expired, "tampered token": tampered, "alg:none token": unsigned}
    return {"no token": {}} | {name: {"Authorization": f"Bearer {t}"} for name, t in tokens.items()}


@pytest.fixture
def world(services: HubServices, sign_up: SignUp, member: AddMember, data_dir: Path) -> World:
    users = {name: sign_up(f"{name}@example.org") for name in (*MEMBERS, "other", "bystander")}
    owner_id, owner_headers = users["owner"]
    good = owner_headers["Authorization"].removeprefix("Bearer ")
    return World(services, users, _bad_tokens(data_dir, owner_id, good), member)


def _send(client: TestClient, world: World, method: str, path: str, caller: str) -> Response:
    call = MATRIX[(method, path)]
    ids = world.project()
    url = path.format(**ids)
    return client.request(method, url, headers=world.headers(caller), json=call.body)


def _is_project_not_found(response: Response) -> bool:
    if response.status_code != 404:
        return False
    error = response.json()["error"]
    return "project_id" in error["details"] or error["message"] == "no such project"


def _problem(method: str, path: str, caller: str, response: Response) -> str | None:
    """Why the response is wrong for this caller, or None when it is right."""
    call = MATRIX[(method, path)]
    status = response.status_code
    scoped = call.needs is not None
    if caller in TOKEN_PROBLEMS:
        return None if status == 401 else "expected 401"
    if status == 401:
        return "a valid token was refused"
    if caller == "other user":
        if scoped:
            return None if _is_project_not_found(response) else "expected 404 (not a member)"
        return None if status != 403 else "a signed-in user was refused"
    if scoped and _is_project_not_found(response):
        return "a member was told the project does not exist"
    if caller == "viewer" and method in MUTATING and scoped:
        return None if status == 403 else "expected 403 (viewers cannot change anything)"
    role = {"owner": OWNER, "editor": EDITOR, "viewer": VIEWER}[caller]
    refused = call.needs is not None and not _role_suffices(role, call.needs)
    if refused:
        return None if status == 403 else f"expected 403 (needs {call.needs})"
    if status == 403:
        return "refused although the role suffices"
    if status == 404 and not call.may_be_missing:
        return "404 for a resource the fixture created"
    return None


def _role_suffices(role: Role, needed: Role) -> bool:
    return {VIEWER: True, EDITOR: role.can_edit, OWNER: role.can_manage}[needed]


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda part: str(part))
def test_access_for_every_caller(client: TestClient, world: World, method: str, path: str) -> None:
    problems = []
    for caller in CALLERS:
        response = _send(client, world, method, path, caller)
        problem = _problem(method, path, caller, response)
        if problem is not None:
            problems.append(f"{caller}: {problem}; got {response.status_code} {response.text}")
    assert not problems, f"{method} {path}\n" + "\n".join(problems)


@pytest.mark.parametrize("leaver", ["viewer", "editor"])
def test_members_may_leave(client: TestClient, world: World, leaver: str) -> None:
    ids = world.project()
    user_id, headers = world.users[leaver]
    url = f"/projects/{ids['project_id']}/members/{user_id}"
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(f"/projects/{ids['project_id']}", headers=headers).status_code == 404
