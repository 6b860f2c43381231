"""Projects and their members: the records that decide who may see and change what.

Ids are uuid4 hex strings; every datetime is timezone-aware UTC. Records are frozen: a
change is a new record written through a repository, never a mutation in place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

# What a project images; it picks a new project's default model and object class.
SampleType = Literal["nuclei", "cells", "spheroids", "organoids", "other"]
SAMPLE_CLASS_NAMES: dict[str, str] = {
    "nuclei": "nucleus",
    "cells": "cell",
    "spheroids": "spheroid",
    "organoids": "organoid",
    "other": "object",
}


def new_id() -> str:
    """A fresh record id (uuid4, 32 lowercase hex digits)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


class Role(StrEnum):
    """A member's role in one project. Every project keeps at least one owner."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def can_edit(self) -> bool:
        """Upload, segment, edit polygons and export."""
        return self in (Role.OWNER, Role.EDITOR)

    @property
    def can_manage(self) -> bool:
        """Rename or delete the project and change its members."""
        return self is Role.OWNER


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """Per-project defaults for segmentation and measurement.

    ``pixel_size_um`` None means uncalibrated: metrics are reported in pixels only.
    ``classes`` are the object class names offered in the editor, in display order.
    """

    default_model: str = "classical"
    threshold: float = 0.5
    pixel_size_um: float | None = None
    classes: tuple[str, ...] = ("object",)


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    # The creator; ownership itself is the set of members with ``Role.OWNER``.
    owner_id: str
    created_at: datetime = field(default_factory=utc_now)
    settings: ProjectSettings = field(default_factory=ProjectSettings)

    @classmethod
    def new(cls, name: str, owner_id: str, settings: ProjectSettings | None = None) -> Project:
        return cls(
            id=new_id(), name=name, owner_id=owner_id, settings=settings or ProjectSettings()
        )


@dataclass(frozen=True, slots=True)
class Member:
    project_id: str
    user_id: str
    role: Role
