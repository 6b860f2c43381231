"""The projects repository port: projects, their members and roles, and paged listing.

Adapters: SQLite (``cellhub.adapters.local.sqlite_projects``) and DynamoDB (single table).
Every rule below is checked by ``tests/contract/test_projects_repository.py``.

How each guarded write maps onto DynamoDB (``PK``/``SK`` of the single table in brackets):

- ``create``: one ``TransactWriteItems`` of the project item [``PROJECT#id``/``META``] and
  the owner's member item [``PROJECT#id``/``MEMBER#user``], both with
  ``attribute_not_exists(PK)``; GSI1 on the member item [``USER#user``/``PROJECT#created#id``]
  serves ``list_for_user``.
- ``update``: ``UpdateItem`` with ``attribute_exists(PK)``; a failed check is
  ``ProjectNotFound``.
- ``delete``: query the project's partition and every image partition and batch-delete them;
  the project item goes first, so a half-finished delete is already invisible.
- ``add_member``: ``PutItem`` with ``attribute_not_exists(PK)`` (``DuplicateRecord``).
- ``change_role`` / ``remove_member`` of an owner: a transaction that updates an ``owners``
  counter on the project item with ``owners > :one`` beside the member write, so two owners
  demoting each other at once can never leave none (``LastOwnerRequired``).

Reads return None for a missing record; writes to a missing record raise a ``NotFound``.
Blob clean-up after a delete is the calling service's job: repositories hold pointers only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from cellhub.domain.projects import Member, Project, ProjectSettings, Role
from cellhub.errors import InvalidParameter

T = TypeVar("T")

DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. ``next_cursor`` is opaque; None means this was the last page."""

    items: Sequence[T]
    next_cursor: str | None


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise InvalidParameter(f"limit must be 1..{MAX_PAGE_LIMIT}", limit=limit)


class ProjectsRepository(Protocol):
    """Projects and memberships. Safe to call from several threads and processes at once."""

    def create(self, project: Project) -> None:
        """Store ``project`` and make ``project.owner_id`` its owner, in one transaction."""
        ...

    def get(self, project_id: str) -> Project | None: ...

    def list_for_user(
        self,
        user_id: str,
        *,
        search: str | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE_LIMIT,
    ) -> Page[Project]:
        """The projects ``user_id`` is a member of, oldest first (ties by id).

        ``search`` keeps projects whose name contains it, ignoring case. Pass the
        ``next_cursor`` of one page, with the same ``search``, to get the next.
        """
        ...

    def update(
        self,
        project_id: str,
        *,
        name: str | None = None,
        settings: ProjectSettings | None = None,
    ) -> Project:
        """Change the given fields; return the stored record."""
        ...

    def delete(self, project_id: str) -> None:
        """Delete the project with its members, images, versions, jobs and exports."""
        ...

    def add_member(self, member: Member) -> None:
        """Raise ``DuplicateRecord`` if the user is a member already, ``ProjectNotFound``
        if there is no such project."""
        ...

    def get_role(self, project_id: str, user_id: str) -> Role | None:
        """The user's role, or None for a non-member (and for a missing project)."""
        ...

    def list_members(self, project_id: str) -> list[Member]:
        """Every member, owners first, then editors, then viewers (ties by user id)."""
        ...

    def change_role(self, project_id: str, user_id: str, role: Role) -> None:
        """Raise ``MemberNotFound``, or ``LastOwnerRequired`` when demoting the last owner."""
        ...

    def remove_member(self, project_id: str, user_id: str) -> None:
        """Raise ``MemberNotFound``, or ``LastOwnerRequired`` when removing the last owner."""
        ...
