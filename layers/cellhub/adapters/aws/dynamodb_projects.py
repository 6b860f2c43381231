"""The projects repository on DynamoDB: project and member items in the hub table.

A project's partition holds the project item and one item per member. The project item
counts its owners (``owners``); every change that adds or takes away an owner is a
transaction of the member write and an ``ADD owners`` on the project item, and a demotion or
removal carries ``owners > 1``, so two owners demoting each other at once leave one.

``list_for_user`` queries the user's member items on gsi1 (oldest project first, ties by id),
fetches their projects in one ``BatchGetItem`` per query page and filters by ``search`` in
Python (the name lives on the project item, not on the member), continuing the query until
the page is full or the user's memberships end. The page cursor is the gsi1 sort key of the
page's last membership.
"""

from __future__ import annotations

import itertools
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from cellhub.adapters.aws.dynamodb_expressions import Expression, only_if_new
from cellhub.adapters.aws.dynamodb_images import DynamoImagesRepository
from cellhub.adapters.aws.dynamodb_records import (
    DynamoRepository,
    check_action,
    decode_cursor,
    delete_action,
    encode_cursor,
    failed,
    is_conditional_failure,
    key_condition,
    put_action,
    time_from_text,
    time_to_text,
    to_decimal,
    to_float,
    update_action,
    without_none,
)
from cellhub.domain.projects import Member, Project, ProjectSettings, Role
from cellhub.errors import (
    DuplicateRecord,
    LastOwnerRequired,
    MemberNotFound,
    ProjectNotFound,
    WriteContention,
)
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT, Page, check_limit

_ROLE_ORDER = {Role.OWNER: 0, Role.EDITOR: 1, Role.VIEWER: 2}
# A membership changing under a role change makes it start over; this many times at most.
_ROLE_CHANGE_ATTEMPTS = 5


def _project_key(project_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", "PROJECT"


def _member_key(project_id: str, user_id: str) -> tuple[str, str]:
    return f"PROJECT#{project_id}", f"MEMBER#{user_id}"


class DynamoProjectsRepository(DynamoRepository):
    """A ``ProjectsRepository`` in the hub table (a boto3 ``Table`` resource)."""

    def __init__(self, table: Any) -> None:
        super().__init__(table)
        self._images = DynamoImagesRepository(table)

    def create(self, project: Project) -> None:
        pk, sk = _project_key(project.id)
        item = {
            "pk": pk,
            "sk": sk,
            "id": project.id,
            "name": project.name,
            "owner_id": project.owner_id,
            "created_at": time_to_text(project.created_at),
            "settings": _settings_to_map(project.settings),
            "owners": 1,
        }
        guard = only_if_new()
        owner = _member_item(Member(project.id, project.owner_id, Role.OWNER), project)
        if self._transact([put_action(item, guard), put_action(owner, guard)]) is not None:
            raise DuplicateRecord("a project with this id exists", id=project.id)

    def get(self, project_id: str) -> Project | None:
        item = self._get(*_project_key(project_id))
        return None if item is None else _project(item)

    def list_for_user(
        self,
        user_id: str,
        *,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Page[Project]:
        check_limit(limit)
        condition = Key("gsi1pk").eq(f"USER#{user_id}#PROJECTS")
        if cursor is not None:
            condition = condition & Key("gsi1sk").gt(decode_cursor(cursor, "projects"))
        query: dict[str, Any] = {
            "TableName": self._table_name,
            **key_condition(condition),
            "IndexName": "gsi1",
            "Limit": limit + 1,
        }
        folded = search.casefold() if search else None
        found: list[tuple[str, Project]] = []
        while len(found) <= limit:
            reply = self._client.query(**query)
            members = reply.get("Items", [])
            keys = [_project_key(member["project_id"]) for member in members]
            projects = {item["id"]: _project(item) for item in self._get_many(keys)}
            for member in members:
                project = projects.get(member["project_id"])
                if project is not None and (folded is None or folded in project.name.casefold()):
                    found.append((member["gsi1sk"], project))
            if "LastEvaluatedKey" not in reply:
                break
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        next_cursor = encode_cursor("projects", found[limit - 1][0]) if len(found) > limit else None
        return Page(items=[project for _, project in found[:limit]], next_cursor=next_cursor)

    def update(
        self,
        project_id: str,
        *,
        name: str | None = None,
        settings: ProjectSettings | None = None,
    ) -> Project:
        change = Expression()
        if name is not None:
            change.set("name", name)
        if settings is not None:
            change.set("settings", _settings_to_map(settings))
        change.exists()
        if name is None and settings is None:
            stored = self._get(*_project_key(project_id))
        else:
            stored = self._update(*_project_key(project_id), change, returns="ALL_NEW")
        if stored is None:
            raise ProjectNotFound("no such project", project_id=project_id)
        return _project(stored)

    def delete(self, project_id: str) -> None:
        # The project item first: once it is gone the project is invisible, and what a
        # crash leaves behind is unreachable through it.
        found = Expression()
        found.exists()
        try:
            self._client.delete_item(
                TableName=self._table_name,
                Key=dict(zip(("pk", "sk"), _project_key(project_id), strict=True)),
                **found.parts(),
            )
        except ClientError as error:
            if is_conditional_failure(error):
                raise ProjectNotFound("no such project", project_id=project_id) from None
            raise
        self._delete_partition(f"PROJECT#{project_id}")
        images = self._children(project_id, "IMAGES")
        while batch := list(itertools.islice(images, 500)):
            self._images.purge(batch)
        for kind in ("JOBS", "EXPORTS"):
            for child in list(self._children(project_id, kind)):
                self._delete_partition(child["pk"])

    def _children(self, project_id: str, kind: str) -> Any:
        return self._query(Key("gsi1pk").eq(f"PROJECT#{project_id}#{kind}"), IndexName="gsi1")

    def add_member(self, member: Member) -> None:
        project = Expression()
        project.exists()
        if member.role is Role.OWNER:
            project.add("owners", 1)
            first = update_action(*_project_key(member.project_id), project)
        else:
            first = check_action(*_project_key(member.project_id), project)
        guard = only_if_new()
        # The project's created_at orders the member's listing; it is read once, here.
        stored = self.get(member.project_id)
        if stored is None:
            raise ProjectNotFound("no such project", project_id=member.project_id)
        codes = self._transact([first, put_action(_member_item(member, stored), guard)])
        if codes is None:
            return
        if failed(codes, 0):
            raise ProjectNotFound("no such project", project_id=member.project_id)
        raise DuplicateRecord(
            "the user is a member already", project_id=member.project_id, user_id=member.user_id
        )

    def get_role(self, project_id: str, user_id: str) -> Role | None:
        item = self._get(*_member_key(project_id, user_id))
        return None if item is None else Role(item["role"])

    def list_members(self, project_id: str) -> list[Member]:
        members = [
            Member(project_id, item["user_id"], Role(item["role"]))
            for item in self._partition(f"PROJECT#{project_id}", "MEMBER#")
        ]
        return sorted(members, key=lambda m: (_ROLE_ORDER[m.role], m.user_id))

    def change_role(self, project_id: str, user_id: str, role: Role) -> None:
        self._change_membership(project_id, user_id, role)

    def remove_member(self, project_id: str, user_id: str) -> None:
        self._change_membership(project_id, user_id, None)

    def _change_membership(self, project_id: str, user_id: str, role: Role | None) -> None:
        """Give the member ``role``, or remove them when it is None, guarding the owners."""
        for _ in range(_ROLE_CHANGE_ATTEMPTS):
            current = self.get_role(project_id, user_id)
            if current is None:
                raise MemberNotFound("not a member", project_id=project_id, user_id=user_id)
            if current is role:
                return
            member = Expression()
            member.where(Attr("role").eq(current.value))
            if role is None:
                actions = [delete_action(*_member_key(project_id, user_id), member)]
            else:
                member.set("role", role.value)
                actions = [update_action(*_member_key(project_id, user_id), member)]
            owners = Expression()
            if current is Role.OWNER:
                owners.add("owners", -1)
                owners.where(Attr("owners").gt(1))
            elif role is Role.OWNER:
                owners.add("owners", 1)
            if current is Role.OWNER or role is Role.OWNER:
                owners.exists()
                actions.append(update_action(*_project_key(project_id), owners))
            codes = self._transact(actions)
            if codes is None:
                return
            if current is Role.OWNER and failed(codes, 1):
                raise LastOwnerRequired(
                    "a project needs at least one owner", project_id=project_id, user_id=user_id
                )
            # The membership changed under us (failed(codes, 0)): read it again.
        raise WriteContention("membership kept changing during a role change")


def _member_item(member: Member, project: Project) -> dict[str, Any]:
    pk, sk = _member_key(member.project_id, member.user_id)
    return {
        "pk": pk,
        "sk": sk,
        "project_id": member.project_id,
        "user_id": member.user_id,
        "role": member.role.value,
        "gsi1pk": f"USER#{member.user_id}#PROJECTS",
        "gsi1sk": f"{time_to_text(project.created_at)}#{project.id}",
    }


def _settings_to_map(settings: ProjectSettings) -> dict[str, Any]:
    return without_none(
        {
            "default_model": settings.default_model,
            "threshold": to_decimal(settings.threshold),
            "pixel_size_um": to_decimal(settings.pixel_size_um),
            "classes": list(settings.classes),
        }
    )


def _project(item: dict[str, Any]) -> Project:
    settings = item["settings"]
    return Project(
        id=item["id"],
        name=item["name"],
        owner_id=item["owner_id"],
        created_at=time_from_text(item["created_at"]),
        settings=ProjectSettings(
            default_model=settings["default_model"],
            threshold=float(settings["threshold"]),
            pixel_size_um=to_float(settings.get("pixel_size_um")),
            classes=tuple(settings["classes"]),
        ),
    )
