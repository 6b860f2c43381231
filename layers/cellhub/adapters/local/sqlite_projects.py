"""The projects repository on one machine: projects and members in a SQLite file (see the port).

Guarded changes (last-owner protection, duplicate members) read and write inside one
``BEGIN IMMEDIATE`` transaction, which holds the write lock from the first read, so two
owners demoting each other at the same moment cannot both succeed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, replace

from cellhub.adapters.local.sqlite_records import (
    SqliteMetadataRepository,
    decode_cursor,
    encode_cursor,
    time_from_text,
    time_to_text,
)
from cellhub.domain.projects import Member, Project, ProjectSettings, Role
from cellhub.errors import DuplicateRecord, LastOwnerRequired, MemberNotFound, ProjectNotFound
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT, Page, check_limit

_PROJECT_COLUMNS = "p.id, p.name, p.owner_id, p.created_at, p.settings"
_ROLE_ORDER = {Role.OWNER: 0, Role.EDITOR: 1, Role.VIEWER: 2}


class SqliteProjectsRepository(SqliteMetadataRepository):
    """A ``ProjectsRepository`` in the SQLite file at ``path`` (or an open ``SqliteDatabase``)."""

    def create(self, project: Project) -> None:
        with self._db.transaction() as db:
            try:
                db.execute(
                    "INSERT INTO projects_projects VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        project.id,
                        project.name,
                        project.name.casefold(),
                        project.owner_id,
                        time_to_text(project.created_at),
                        _settings_to_text(project.settings),
                    ),
                )
            except sqlite3.IntegrityError as error:
                raise DuplicateRecord("a project with this id exists", id=project.id) from error
            db.execute(
                "INSERT INTO projects_members VALUES (?, ?, ?)",
                (project.id, project.owner_id, Role.OWNER.value),
            )

    def get(self, project_id: str) -> Project | None:
        row = (
            self._db.connection()
            .execute(
                f"SELECT {_PROJECT_COLUMNS} FROM projects_projects p WHERE id = ?", (project_id,)
            )
            .fetchone()
        )
        return None if row is None else _project_from_row(row)

    def list_for_user(
        self,
        user_id: str,
        *,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Page[Project]:
        check_limit(limit)
        where = ["m.user_id = ?"]
        params: list[object] = [user_id]
        if search:
            escaped = (
                search.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            )
            where.append("p.name_folded LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if cursor is not None:
            created_at, last_id = decode_cursor(cursor, "projects")
            where.append("(p.created_at, p.id) > (?, ?)")
            params += [created_at, last_id]
        rows = (
            self._db.connection()
            .execute(
                f"SELECT {_PROJECT_COLUMNS} FROM projects_members m"
                " JOIN projects_projects p ON p.id = m.project_id"
                f" WHERE {' AND '.join(where)} ORDER BY p.created_at, p.id LIMIT ?",
                (*params, limit + 1),
            )
            .fetchall()
        )
        projects = [_project_from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = projects[-1]
            next_cursor = encode_cursor("projects", time_to_text(last.created_at), last.id)
        return Page(items=projects, next_cursor=next_cursor)

    def update(
        self,
        project_id: str,
        *,
        name: str | None = None,
        settings: ProjectSettings | None = None,
    ) -> Project:
        with self._db.transaction() as db:
            row = db.execute(
                f"SELECT {_PROJECT_COLUMNS} FROM projects_projects p WHERE id = ?", (project_id,)
            ).fetchone()
            if row is None:
                raise ProjectNotFound("no such project", project_id=project_id)
            project = _project_from_row(row)
            project = replace(
                project,
                name=project.name if name is None else name,
                settings=project.settings if settings is None else settings,
            )
            db.execute(
                "UPDATE projects_projects SET name = ?, name_folded = ?, settings = ? WHERE id = ?",
                (
                    project.name,
                    project.name.casefold(),
                    _settings_to_text(project.settings),
                    project_id,
                ),
            )
        return project

    def delete(self, project_id: str) -> None:
        # Foreign keys cascade to members, images, versions, jobs and exports.
        with self._db.transaction() as db:
            deleted = db.execute("DELETE FROM projects_projects WHERE id = ?", (project_id,))
            if deleted.rowcount == 0:
                raise ProjectNotFound("no such project", project_id=project_id)

    def add_member(self, member: Member) -> None:
        with self._db.transaction() as db:
            self._require_project(db, member.project_id)
            try:
                db.execute(
                    "INSERT INTO projects_members VALUES (?, ?, ?)",
                    (member.project_id, member.user_id, member.role.value),
                )
            except sqlite3.IntegrityError as error:
                raise DuplicateRecord(
                    "the user is a member already",
                    project_id=member.project_id,
                    user_id=member.user_id,
                ) from error

    def get_role(self, project_id: str, user_id: str) -> Role | None:
        row = (
            self._db.connection()
            .execute(
                "SELECT role FROM projects_members WHERE project_id = ? AND user_id = ?",
                (project_id, user_id),
            )
            .fetchone()
        )
        return None if row is None else Role(row[0])

    def list_members(self, project_id: str) -> list[Member]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT user_id, role FROM projects_members WHERE project_id = ?", (project_id,)
            )
            .fetchall()
        )
        members = [Member(project_id, user_id, Role(role)) for user_id, role in rows]
        return sorted(members, key=lambda m: (_ROLE_ORDER[m.role], m.user_id))

    def change_role(self, project_id: str, user_id: str, role: Role) -> None:
        with self._db.transaction() as db:
            current = _locked_role(db, project_id, user_id)
            if current is Role.OWNER and role is not Role.OWNER:
                _refuse_last_owner(db, project_id, user_id)
            db.execute(
                "UPDATE projects_members SET role = ? WHERE project_id = ? AND user_id = ?",
                (role.value, project_id, user_id),
            )

    def remove_member(self, project_id: str, user_id: str) -> None:
        with self._db.transaction() as db:
            if _locked_role(db, project_id, user_id) is Role.OWNER:
                _refuse_last_owner(db, project_id, user_id)
            db.execute(
                "DELETE FROM projects_members WHERE project_id = ? AND user_id = ?",
                (project_id, user_id),
            )


def _locked_role(db: sqlite3.Connection, project_id: str, user_id: str) -> Role:
    row = db.execute(
        "SELECT role FROM projects_members WHERE project_id = ? AND user_id = ?",
        (project_id, user_id),
    ).fetchone()
    if row is None:
        raise MemberNotFound("not a member", project_id=project_id, user_id=user_id)
    return Role(row[0])


def _refuse_last_owner(db: sqlite3.Connection, project_id: str, user_id: str) -> None:
    (owners,) = db.execute(
        "SELECT COUNT(*) FROM projects_members WHERE project_id = ? AND role = ?",
        (project_id, Role.OWNER.value),
    ).fetchone()
    if owners <= 1:
        raise LastOwnerRequired(
            "a project needs at least one owner", project_id=project_id, user_id=user_id
        )


def _settings_to_text(settings: ProjectSettings) -> str:
    return json.dumps(asdict(settings))


def _project_from_row(row: tuple[str, str, str, str, str]) -> Project:
    project_id, name, owner_id, created_at, settings = row
    fields = json.loads(settings)
    fields["classes"] = tuple(fields["classes"])
    return Project(
        id=project_id,
        name=name,
        owner_id=owner_id,
        created_at=time_from_text(created_at),
        settings=ProjectSettings(**fields),
    )
