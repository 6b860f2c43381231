"""``/projects``: create, list, read, change and delete projects, and manage their members.

Roles are checked by the ``ViewerAccess``/``OwnerAccess`` dependencies: a non-member gets
404 for every route under a project id, a member below the needed role gets 403. A member
may always remove themselves (leave); the repository refuses to drop the last owner (409).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from cellhub.domain.projects import Member, Project, Role
from cellhub.errors import NotFound, PermissionDenied, ProjectNotFound
from cellhub.ports.projects_repository import DEFAULT_PAGE_LIMIT
from cellhub.services import deletion
from cellhub_api.container import HubServices
from cellhub_api.deps import CurrentUser, OwnerAccess, ProjectModels, Services, ViewerAccess
from cellhub_api.schemas.projects import (
    MemberCreate,
    MemberOut,
    MemberUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectPage,
    ProjectUpdate,
)

router = APIRouter(prefix="/projects", tags=["projects"])

# A page of the API is at most this long, well under the repository's own cap.
MAX_API_PAGE = 100

MemberId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(
    body: ProjectCreate, user: CurrentUser, services: Services, models: ProjectModels
) -> ProjectOut:
    """Create the project; unnamed settings follow its sample type (nuclei by default)."""
    # Lazy: the catalogue lives with the worker and reads only JSON cards, never weights.
    from cellhub_worker.registry import default_model_for

    if body.settings.default_model is not None:  # a new project has only global models
        models.ensure_known(None, body.settings.default_model)
    settings = body.settings.to_domain(
        sample_model=default_model_for(body.sample), sample=body.sample
    )
    project = Project.new(body.name, user.id, settings)
    services.projects.create(project)
    return ProjectOut.of(project, Role.OWNER)


@router.get("")
def list_projects(
    user: CurrentUser,
    services: Services,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_API_PAGE)] = DEFAULT_PAGE_LIMIT,
    search: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> ProjectPage:
    page = services.projects.list_for_user(user.id, search=search, cursor=cursor, limit=limit)
    items = []
    for project in page.items:
        role = services.projects.get_role(project.id, user.id)
        if role is not None:  # left between the listing and this read
            items.append(ProjectOut.of(project, role))
    return ProjectPage(items=items, next_cursor=page.next_cursor)


@router.get("/{project_id}")
def get_project(access: ViewerAccess, services: Services) -> ProjectOut:
    return ProjectOut.of(_project(services, access.project_id), access.role)


@router.patch("/{project_id}")
def update_project(
    body: ProjectUpdate, access: OwnerAccess, services: Services, models: ProjectModels
) -> ProjectOut:
    """Rename or change settings; a new default model must be a global or project model."""
    current = _project(services, access.project_id)
    settings = body.settings.applied_to(current.settings) if body.settings else None
    if body.settings is not None and body.settings.default_model is not None:
        models.ensure_known(access.project_id, body.settings.default_model)
    updated = services.projects.update(access.project_id, name=body.name, settings=settings)
    return ProjectOut.of(updated, access.role)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(access: OwnerAccess, services: Services) -> Response:

    deletion.delete_project(services.projects, services.blobs, access.project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/members")
def list_members(access: ViewerAccess, services: Services) -> list[MemberOut]:
    return [
        _member_out(services, member)
        for member in services.projects.list_members(access.project_id)
    ]


@router.post("/{project_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(body: MemberCreate, access: OwnerAccess, services: Services) -> MemberOut:
    invitee = services.users.find_user_by_email(body.email)
    if invitee is None:
        raise NotFound("no account has that email address")
    member = Member(access.project_id, invitee.id, body.role)
    services.projects.add_member(member)
    return MemberOut.of(member, invitee.email, invitee.display_name)


@router.patch("/{project_id}/members/{user_id}")
def change_member_role(
    user_id: MemberId, body: MemberUpdate, access: OwnerAccess, services: Services
) -> MemberOut:
    services.projects.change_role(access.project_id, user_id, body.role)
    return _member_out(services, Member(access.project_id, user_id, body.role))


@router.delete("/{project_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(user_id: MemberId, access: ViewerAccess, services: Services) -> Response:
    if user_id != access.user.id and not access.role.can_manage:
        raise PermissionDenied("only an owner may remove another member", role=access.role.value)
    services.projects.remove_member(access.project_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _project(services: HubServices, project_id: str) -> Project:
    project = services.projects.get(project_id)
    if project is None:  # deleted between the role check and this read
        raise ProjectNotFound("no such project", project_id=project_id)
    return project


def _member_out(services: HubServices, member: Member) -> MemberOut:
    user = services.users.get_user(member.user_id)
    if user is None:
        return MemberOut.of(member, None, "")
    return MemberOut.of(member, user.email, user.display_name)
