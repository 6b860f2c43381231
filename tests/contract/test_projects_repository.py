"""Projects and members contract: CRUD, paging, search, roles, cascade delete."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cellhub.domain.jobs import Export, Job
from cellhub.domain.projects import Member, Project, ProjectSettings, Role, new_id
from cellhub.errors import (
    DuplicateRecord,
    InvalidParameter,
    LastOwnerRequired,
    MemberNotFound,
    ProjectNotFound,
)

from .conftest import Repositories, all_pages, make_images, race, version_record

# --- projects and members ---------------------------------------------------------------


def test_project_crud(repos: Repositories, project: Project) -> None:
    assert repos.projects.get(project.id) == project
    assert repos.projects.get_role(project.id, "alice") is Role.OWNER
    settings = ProjectSettings("unet", 0.4, 0.325, ("nucleus", "cell"))
    updated = repos.projects.update(project.id, name="Organoids", settings=settings)
    assert updated == replace(project, name="Organoids", settings=settings)
    assert repos.projects.get(project.id) == updated
    assert repos.projects.get("missing") is None
    with pytest.raises(ProjectNotFound):
        repos.projects.update("missing", name="x")
    with pytest.raises(DuplicateRecord):
        repos.projects.create(project)


def test_list_for_user_pages_searches_and_scopes(repos: Repositories) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    names = ["Alpha", "beta", "ALPHABET", "gamma", "Delta", "alp", "epsilon"]
    mine = [
        Project(new_id(), name, "alice", created_at=start + timedelta(minutes=i % 3))
        for i, name in enumerate(names)
    ]
    for created in mine:
        repos.projects.create(created)
    repos.projects.create(Project.new("Alpha of bob", "bob"))
    expected = sorted(mine, key=lambda p: (p.created_at, p.id))

    listed = all_pages(lambda c: repos.projects.list_for_user("alice", cursor=c, limit=3))
    assert listed == expected
    found = all_pages(
        lambda c: repos.projects.list_for_user("alice", search="ALP", cursor=c, limit=2)
    )
    assert sorted(p.name for p in found) == ["ALPHABET", "Alpha", "alp"]
    assert repos.projects.list_for_user("alice", search="%").items == []
    assert [p.name for p in repos.projects.list_for_user("bob").items] == ["Alpha of bob"]
    repos.projects.add_member(Member(mine[0].id, "bob", Role.VIEWER))
    assert len(repos.projects.list_for_user("bob").items) == 2
    with pytest.raises(InvalidParameter):
        repos.projects.list_for_user("alice", cursor="not-a-cursor")
    with pytest.raises(InvalidParameter):
        repos.projects.list_for_user("alice", limit=0)


def test_roles_and_last_owner_protection(repos: Repositories, project: Project) -> None:
    assert Role.OWNER.can_manage and Role.OWNER.can_edit
    assert Role.EDITOR.can_edit and not Role.EDITOR.can_manage
    assert not Role.VIEWER.can_edit
    repos.projects.add_member(Member(project.id, "carol", Role.VIEWER))
    repos.projects.add_member(Member(project.id, "bob", Role.EDITOR))
    with pytest.raises(DuplicateRecord):
        repos.projects.add_member(Member(project.id, "bob", Role.VIEWER))
    with pytest.raises(ProjectNotFound):
        repos.projects.add_member(Member("missing", "bob", Role.VIEWER))
    assert [(m.user_id, m.role) for m in repos.projects.list_members(project.id)] == [
        ("alice", Role.OWNER),
        ("bob", Role.EDITOR),
        ("carol", Role.VIEWER),
    ]
    assert repos.projects.get_role(project.id, "dave") is None
    with pytest.raises(LastOwnerRequired):
        repos.projects.remove_member(project.id, "alice")
    with pytest.raises(LastOwnerRequired):
        repos.projects.change_role(project.id, "alice", Role.EDITOR)
    repos.projects.change_role(project.id, "bob", Role.OWNER)
    repos.projects.change_role(project.id, "alice", Role.VIEWER)
    with pytest.raises(LastOwnerRequired):
        repos.projects.remove_member(project.id, "bob")
    repos.projects.remove_member(project.id, "carol")
    assert repos.projects.get_role(project.id, "carol") is None
    with pytest.raises(MemberNotFound):
        repos.projects.remove_member(project.id, "carol")


def test_two_owners_demoting_each_other_leave_one(repos: Repositories, project: Project) -> None:
    repos.projects.add_member(Member(project.id, "bob", Role.OWNER))
    outcomes = race(
        2, lambda i: repos.projects.change_role(project.id, ("alice", "bob")[i], Role.EDITOR)
    )
    assert sum(isinstance(o, LastOwnerRequired) for o in outcomes) == 1
    roles = [m.role for m in repos.projects.list_members(project.id)]
    assert sorted(roles) == sorted([Role.OWNER, Role.EDITOR])


def test_delete_cascades_to_everything(repos: Repositories, project: Project) -> None:
    repos.projects.add_member(Member(project.id, "bob", Role.EDITOR))
    images = make_images(project.id, 20)
    repos.images.add_many(images)
    repos.images.add_version(images[0].id, 0, version_record())
    job = Job.new(project.id, model="unet", threshold=0.5, total=20, created_by="alice")
    repos.jobs.create_job(job)
    export = Export.new(project.id, ("coco",), created_by="alice")
    repos.jobs.create_export(export)

    repos.projects.delete(project.id)
    assert repos.projects.get(project.id) is None
    assert repos.projects.get_role(project.id, "bob") is None
    assert repos.projects.list_for_user("alice").items == []
    assert repos.images.get(project.id, images[0].id) is None
    assert repos.images.list_versions(images[0].id) == []
    assert repos.jobs.get_job(project.id, job.id) is None
    assert repos.jobs.get_export(project.id, export.id) is None
    with pytest.raises(ProjectNotFound):
        repos.projects.delete(project.id)
