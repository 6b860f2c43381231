"""Request dependencies: the services, the authenticated caller and their project role.

Used as ``Annotated`` parameters (``Services``, ``CurrentUser``, ``ViewerAccess``,
``EditorAccess``, ``OwnerAccess``, ``ProjectModels``) and swapped in tests through
``app.dependency_overrides``.
Access rule: a project the caller is not a member of does not exist for them (404, the
same answer as a project that does not exist); a member whose role is too low gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cellhub.domain.accounts import User
from cellhub.domain.projects import Role
from cellhub.errors import InvalidToken, PermissionDenied, ProjectNotFound
from cellhub.services.model_jobs import ModelJobs
from cellhub.services.project_models import ProjectModelStore
from cellhub_api.container import HubServices

_bearer = HTTPBearer(auto_error=False, description="access token from /auth/login")


def get_services(request: Request) -> HubServices:
    services: HubServices = request.app.state.services
    return services


Services = Annotated[HubServices, Depends(get_services)]


def current_user(
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise InvalidToken("this route needs an access token (Authorization: Bearer …)")
    user = services.users.get_user(services.access_tokens.verify(credentials.credentials))
    if user is None:  # the account was deleted while the token was still valid
        raise InvalidToken("the account behind this token no longer exists")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    """The caller, the project they asked for, and their role in it."""

    project_id: str
    user: User
    role: Role


def _access(minimum: Role) -> object:
    def check(
        project_id: Annotated[str, Path(max_length=64)], user: CurrentUser, services: Services
    ) -> ProjectAccess:
        role = services.projects.get_role(project_id, user.id)
        if role is None:
            raise ProjectNotFound("no such project", project_id=project_id)
        allowed = {
            Role.VIEWER: True,
            Role.EDITOR: role.can_edit,
            Role.OWNER: role.can_manage,
        }[minimum]
        if not allowed:
            raise PermissionDenied(
                f"this needs the {minimum.value} role; you are {role.value}", role=role.value
            )
        return ProjectAccess(project_id, user, role)

    return Depends(check)


ViewerAccess = Annotated[ProjectAccess, _access(Role.VIEWER)]
EditorAccess = Annotated[ProjectAccess, _access(Role.EDITOR)]
OwnerAccess = Annotated[ProjectAccess, _access(Role.OWNER)]


def _global_model_names() -> set[str]:
    # Lazy: the catalogue lives with the worker and reads only JSON cards, never weights.
    from cellhub_worker.registry import list_models

    return {card.name for card in list_models()}


def model_jobs(services: Services) -> ModelJobs:
    """Fine-tuning and import jobs, and model-name checks, over this request's services."""
    store = ProjectModelStore(services.blobs)
    return ModelJobs(services.jobs, services.segment_queue, store, _global_model_names)


ProjectModels = Annotated[ModelJobs, Depends(model_jobs)]
