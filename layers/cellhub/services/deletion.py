"""Deleting projects, images and a leaving user's memberships, records first, then blobs.

Records go first: once they are gone the objects are invisible, and a failure half way
leaves orphaned bytes (harmless, reclaimable) rather than a record pointing at bytes that
are gone. The same steps serve the API routes locally and in the cloud.
"""

from __future__ import annotations

from collections.abc import Sequence

from cellhub.domain.images import Image
from cellhub.errors import LastOwnerRequired, MemberNotFound
from cellhub.ports.blob_store import BlobStore
from cellhub.ports.images_repository import ImagesRepository
from cellhub.ports.projects_repository import ProjectsRepository
from cellhub.services.export_keys import exports_prefix
from cellhub.services.project_models import models_prefix


def delete_project(projects: ProjectsRepository, blobs: BlobStore, project_id: str) -> None:
    """The project's records (cascading to everything in it), then every blob it owns."""
    projects.delete(project_id)
    blobs.delete_prefix(f"projects/{project_id}/")
    blobs.delete_prefix(exports_prefix(project_id))
    blobs.delete_prefix(models_prefix(project_id))


def delete_images(
    images: ImagesRepository, blobs: BlobStore, project_id: str, doomed: Sequence[Image]
) -> int:
    """The images' records and versions, then their originals, thumbnails and documents."""
    if not doomed:
        return 0
    keys = [key for image in doomed for key in _blob_keys(images, image)]
    deleted = images.delete_many(project_id, [image.id for image in doomed])
    for key in keys:
        blobs.delete(key)
    return deleted


def leave_every_project(projects: ProjectsRepository, blobs: BlobStore, user_id: str) -> None:
    """Drop the user's memberships; a project they are the last owner of is deleted."""
    project_ids: list[str] = []
    cursor: str | None = None
    while True:  # collected first, so deletions cannot shift the pages being read
        page = projects.list_for_user(user_id, cursor=cursor)
        project_ids.extend(project.id for project in page.items)
        if (cursor := page.next_cursor) is None:
            break
    for project_id in project_ids:
        try:
            projects.remove_member(project_id, user_id)
        except LastOwnerRequired:
            delete_project(projects, blobs, project_id)
        except MemberNotFound:  # removed by someone else meanwhile
            continue


def _blob_keys(images: ImagesRepository, image: Image) -> list[str]:
    versions = [version.blob_key for version in images.list_versions(image.id)]
    return [image.blob_key, *([image.thumbnail_key] if image.thumbnail_key else []), *versions]
