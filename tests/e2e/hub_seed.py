"""Seeding a hub directly through its services: accounts, projects, images, segmentations.

The workflow test goes through the browser for all of this; the other tests only need a
starting state, and set it up here so they stay fast.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from PIL import Image as PilImage

from cellhub.domain.projects import Project, ProjectSettings
from cellhub.services.thumbnails import ThumbnailService
from cellhub.services.uploads import FileSpec
from cellhub_api.container import HubServices


def verified_user(services: HubServices, email: str, password: str) -> str:
    user = services.accounts.register(email, password)
    services.users.mark_email_verified(user.id)
    return user.id


def project(services: HubServices, owner_id: str, name: str) -> str:
    created = Project.new(name, owner_id, ProjectSettings(default_model="classical"))
    services.projects.create(created)
    return created.id


def uploaded_png(services: HubServices, project_id: str, name: str, size: int = 256) -> str:
    """A real PNG through the upload and thumbnail steps; returns the image id (``ready``)."""
    pixels = np.random.default_rng(3).integers(0, 60, size=(size, size)).astype(np.uint8)
    buffer = io.BytesIO()
    PilImage.fromarray(pixels).save(buffer, format="PNG")
    data = buffer.getvalue()
    plan = services.uploads.plan(project_id, [FileSpec(name, len(data), "image/png")])
    (planned,) = plan.uploads
    services.blobs.put(planned.key, data)
    ThumbnailService(services.images, services.blobs, services.notifier).handle_object_created(
        planned.key
    )
    return planned.image_id


def disc(cx: float, cy: float, r: float, vertices: int = 16) -> list[list[float]]:
    angles = [2 * math.pi * k / vertices for k in range(vertices)]
    return [[cx + r * math.cos(a), cy + r * math.sin(a)] for a in angles]


def save_polygons(
    services: HubServices,
    project_id: str,
    image_id: str,
    user_id: str,
    polygons: list[dict[str, Any]],
    base_version: int,
) -> int:
    record, _ = services.editing.save(
        project_id, image_id, base_version=base_version, polygons=polygons, user_id=user_id
    )
    return record.version
