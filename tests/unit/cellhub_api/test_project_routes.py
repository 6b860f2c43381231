"""The ``/projects`` routes over HTTP: CRUD, paging, search, roles, members, account deletion."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from cellhub_api.container import HubServices
from cellhub_worker.registry import default_model_for

Login = Callable[[str], dict[str, str]]
Headers = dict[str, str]


def _create(client: TestClient, headers: Headers, name: str = "Nuclei", **extra: object) -> str:
    response = client.post("/projects", json={"name": name, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    project_id: str = response.json()["id"]
    return project_id


def _user_id(client: TestClient, headers: Headers) -> str:
    user_id: str = client.get("/auth/me", headers=headers).json()["id"]
    return user_id


def _add(client: TestClient, owner: Headers, project_id: str, email: str, role: str) -> None:
    body = {"email": email, "role": role}
    response = client.post(f"/projects/{project_id}/members", json=body, headers=owner)
    assert response.status_code == 201, response.text


def test_create_read_update_delete(client: TestClient, login: Login, services: HubServices) -> None:
    owner = login("own@example.org")
    created = client.post(
        "/projects", json={"name": "  Nuclei  ", "settings": {"threshold": 0.3}}, headers=owner
    )
    assert created.status_code == 201
    project = created.json()
    assert project["name"] == "Nuclei"
    assert project["role"] == "owner"
    assert project["owner_id"] == _user_id(client, owner)
    # A nuclei project (the default sample) starts with the best nuclei model.
    assert project["settings"] == {
        "default_model": default_model_for("nuclei"),
        "threshold": 0.3,
        "pixel_size_um": None,
        "classes": ["nucleus"],
    }
    assert project["settings"]["default_model"] != "classical"
    url = f"/projects/{project['id']}"
    assert client.get(url, headers=owner).json() == project

    patch = {"name": "Renamed", "settings": {"pixel_size_um": 0.65, "classes": ["nucleus", "cell"]}}
    updated = client.patch(url, json=patch, headers=owner).json()
    assert updated["name"] == "Renamed"
    assert updated["settings"]["threshold"] == 0.3
    assert updated["settings"]["pixel_size_um"] == 0.65
    assert updated["settings"]["classes"] == ["nucleus", "cell"]
    cleared = client.patch(url, json={"settings": {"pixel_size_um": None}}, headers=owner).json()
    assert cleared["settings"]["pixel_size_um"] is None
    assert cleared["settings"]["classes"] == ["nucleus", "cell"]

    services.blobs.put(f"projects/{project['id']}/originals/a.png", b"png")
    assert client.delete(url, headers=owner).status_code == 204
    assert client.get(url, headers=owner).status_code == 404
    assert not services.blobs.exists(f"projects/{project['id']}/originals/a.png")


@pytest.mark.parametrize(
    ("sample", "model", "classes"),
    [
        ("spheroids", "classical", ["spheroid"]),  # the spheroid net is synthetic-only
        ("cells", "classical", ["cell"]),
        ("other", "classical", ["object"]),
    ],
)
def test_sample_type_picks_default_model_and_class(
    client: TestClient, login: Login, sample: str, model: str, classes: list[str]
) -> None:
    owner = login("own@example.org")
    body = {"name": "P", "sample": sample}
    settings = client.post("/projects", json=body, headers=owner).json()["settings"]
    assert (settings["default_model"], settings["classes"]) == (model, classes)
    named = {**body, "settings": {"default_model": "nuclei-unet", "classes": ["a", "b"]}}
    settings = client.post("/projects", json=named, headers=owner).json()["settings"]
    assert (settings["default_model"], settings["classes"]) == ("nuclei-unet", ["a", "b"])
    unknown = client.post("/projects", json={"name": "P", "sample": "bacteria"}, headers=owner)
    assert unknown.status_code == 422


@pytest.mark.parametrize(
    "settings",
    [
        {"threshold": 0},
        {"threshold": 1},
        {"pixel_size_um": 0},
        {"pixel_size_um": -1.5},
        {"classes": []},
        {"classes": ["a", "a"]},
        {"unknown": 1},
    ],
)
def test_invalid_settings_are_422(client: TestClient, login: Login, settings: object) -> None:
    owner = login("own@example.org")
    project_id = _create(client, owner)
    response = client.patch(f"/projects/{project_id}", json={"settings": settings}, headers=owner)
    assert response.status_code == 422
    assert (
        client.post(
            "/projects", json={"name": "x", "settings": settings}, headers=owner
        ).status_code
        == 422
    )


def test_blank_name_is_422(client: TestClient, login: Login) -> None:
    owner = login("own@example.org")
    assert client.post("/projects", json={"name": "   "}, headers=owner).status_code == 422


def test_listing_pages_and_search(client: TestClient, login: Login) -> None:
    owner = login("own@example.org")
    names = [f"Plate {index}" for index in range(5)] + ["Tissue"]
    for name in names:
        _create(client, owner, name)
    _create(client, login("other@example.org"), "Plate of someone else")

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/projects", params=params, headers=owner).json()
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == names

    found = client.get("/projects", params={"search": "plate"}, headers=owner).json()
    assert [item["name"] for item in found["items"]] == names[:5]
    assert client.get("/projects", params={"limit": 0}, headers=owner).status_code == 422
    assert client.get("/projects", params={"cursor": "garbage"}, headers=owner).status_code == 422
    assert client.get("/projects").status_code == 401


def test_roles(client: TestClient, login: Login) -> None:
    owner, viewer, editor = (
        login("own@example.org"),
        login("vi@example.org"),
        login("ed@example.org"),
    )
    project_id = _create(client, owner)
    _add(client, owner, project_id, "vi@example.org", "viewer")
    _add(client, owner, project_id, "ed@example.org", "editor")
    url = f"/projects/{project_id}"

    assert client.get(url, headers=viewer).json()["role"] == "viewer"
    assert [item["id"] for item in client.get("/projects", headers=viewer).json()["items"]] == [
        project_id
    ]
    for headers in (viewer, editor):
        assert client.patch(url, json={"name": "x"}, headers=headers).status_code == 403
        assert client.delete(url, headers=headers).status_code == 403
        invite = {"email": "own@example.org", "role": "viewer"}
        assert client.post(f"{url}/members", json=invite, headers=headers).status_code == 403
    forbidden = client.patch(url, json={"name": "x"}, headers=viewer).json()
    assert forbidden["error"]["code"] == "forbidden"


def test_non_members_get_404(client: TestClient, login: Login) -> None:
    owner, stranger = login("own@example.org"), login("str@example.org")
    project_id = _create(client, owner)
    url = f"/projects/{project_id}"
    owner_id = _user_id(client, owner)
    missing = client.get("/projects/" + "0" * 32, headers=stranger)
    answers = [
        client.get(url, headers=stranger),
        client.patch(url, json={"name": "mine"}, headers=stranger),
        client.delete(url, headers=stranger),
        client.get(f"{url}/members", headers=stranger),
        client.post(f"{url}/members", json={"email": "str@example.org"}, headers=stranger),
        client.patch(f"{url}/members/{owner_id}", json={"role": "viewer"}, headers=stranger),
        client.delete(f"{url}/members/{owner_id}", headers=stranger),
    ]
    for answer in answers:
        assert answer.status_code == 404
        error, expected = answer.json()["error"], missing.json()["error"]
        assert (error["code"], error["message"]) == (expected["code"], expected["message"])
    assert client.get(url, headers=owner).json()["name"] == "Nuclei"


def test_members(client: TestClient, login: Login) -> None:
    owner, member = login("own@example.org"), login("mem@example.org")
    login("third@example.org")
    project_id = _create(client, owner)
    url = f"/projects/{project_id}/members"
    owner_id, member_id = _user_id(client, owner), _user_id(client, member)

    _add(client, owner, project_id, "MEM@example.org", "viewer")
    duplicate = client.post(url, json={"email": "mem@example.org"}, headers=owner)
    assert duplicate.status_code == 409
    unknown = client.post(url, json={"email": "ghost@example.org"}, headers=owner)
    assert unknown.status_code == 404
    listed = client.get(url, headers=member).json()
    assert [(m["email"], m["role"]) for m in listed] == [
        ("own@example.org", "owner"),
        ("mem@example.org", "viewer"),
    ]

    promoted = client.patch(f"{url}/{member_id}", json={"role": "editor"}, headers=owner)
    assert promoted.json()["role"] == "editor"
    assert (
        client.patch(f"{url}/{member_id}", json={"role": "king"}, headers=owner).status_code == 422
    )
    assert (
        client.patch(f"{url}/{'f' * 32}", json={"role": "editor"}, headers=owner).status_code == 404
    )

    # A member may leave but not remove others.
    _add(client, owner, project_id, "third@example.org", "viewer")
    third_id = next(
        m["user_id"]
        for m in client.get(url, headers=owner).json()
        if m["email"] == "third@example.org"
    )
    assert client.delete(f"{url}/{third_id}", headers=member).status_code == 403
    assert client.delete(f"{url}/{member_id}", headers=member).status_code == 204
    assert client.get(f"/projects/{project_id}", headers=member).status_code == 404
    assert client.delete(f"{url}/{third_id}", headers=owner).status_code == 204
    assert [m["user_id"] for m in client.get(url, headers=owner).json()] == [owner_id]


def test_last_owner_is_protected(client: TestClient, login: Login) -> None:
    owner, second = login("own@example.org"), login("two@example.org")
    project_id = _create(client, owner)
    url = f"/projects/{project_id}/members"
    owner_id, second_id = _user_id(client, owner), _user_id(client, second)

    demote = client.patch(f"{url}/{owner_id}", json={"role": "editor"}, headers=owner)
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"
    assert client.delete(f"{url}/{owner_id}", headers=owner).status_code == 409

    _add(client, owner, project_id, "two@example.org", "owner")
    assert (
        client.patch(f"{url}/{owner_id}", json={"role": "viewer"}, headers=second).status_code
        == 200
    )
    assert client.delete(f"{url}/{second_id}", headers=second).status_code == 409


def test_deleting_an_account_removes_its_projects(
    client: TestClient, login: Login, services: HubServices
) -> None:
    leaver, partner = login("leaver@example.org"), login("partner@example.org")
    solo = _create(client, leaver, "Solo")
    shared = _create(client, leaver, "Shared")
    joined = _create(client, partner, "Partner's")
    _add(client, leaver, shared, "partner@example.org", "owner")
    _add(client, partner, joined, "leaver@example.org", "editor")
    services.blobs.put(f"projects/{solo}/originals/a.png", b"png")
    leaver_id = _user_id(client, leaver)

    assert client.delete("/auth/me", headers=leaver).status_code == 204

    assert client.get("/auth/me", headers=leaver).status_code == 401
    assert services.projects.get(solo) is None
    assert not services.blobs.exists(f"projects/{solo}/originals/a.png")
    # Projects with another owner survive; the account is gone from every member list.
    remaining = client.get("/projects", headers=partner).json()["items"]
    assert sorted(item["id"] for item in remaining) == sorted([shared, joined])
    for project_id in (shared, joined):
        members = client.get(f"/projects/{project_id}/members", headers=partner).json()
        assert leaver_id not in [m["user_id"] for m in members]
    login_again = {"email": "leaver@example.org", "password": "correct horse battery"}
    assert client.post("/auth/login", json=login_again).status_code == 401
