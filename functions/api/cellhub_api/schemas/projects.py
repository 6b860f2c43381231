"""Bodies of the ``/projects`` routes: projects, their settings, pages and members.

``ProjectSettingsUpdate`` is partial: only the fields present in the body change, and an
explicit ``"pixel_size_um": null`` sets the project back to uncalibrated (pixels only).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cellhub.domain.accounts import MAX_EMAIL_LENGTH
from cellhub.domain.projects import (
    SAMPLE_CLASS_NAMES,
    Member,
    Project,
    ProjectSettings,
    Role,
    SampleType,
)

ProjectName = Annotated[str, Field(min_length=1, max_length=200)]
ClassName = Annotated[str, Field(min_length=1, max_length=64)]
ModelName = Annotated[str, Field(min_length=1, max_length=64)]
Threshold = Annotated[float, Field(gt=0, lt=1)]
PixelSize = Annotated[float, Field(gt=0, le=1e6)]
ClassList = Annotated[list[ClassName], Field(min_length=1, max_length=256)]

_DEFAULTS = ProjectSettings()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _strip_name(name: str | None) -> str | None:
    if name is not None and not name.strip():
        raise ValueError("the name cannot be blank")
    return name.strip() if name is not None else None


def _check_classes(classes: list[str] | None) -> list[str] | None:
    if classes is not None and len(set(classes)) != len(classes):
        raise ValueError("class names must be unique")
    return classes


class ProjectSettingsBody(_Body):
    """Full settings, for a new project; omitted fields take the defaults.

    An omitted ``default_model`` or ``classes`` follows the project's sample type (see
    ``ProjectCreate.sample``): its best model and its object class.
    """

    default_model: ModelName | None = None
    threshold: Threshold = _DEFAULTS.threshold
    pixel_size_um: PixelSize | None = None
    classes: ClassList | None = None

    _unique_classes = field_validator("classes")(_check_classes)

    def to_domain(self, *, sample_model: str, sample: SampleType) -> ProjectSettings:
        """The settings, with ``sample_model`` (the sample's best model) where none is named."""
        classes = self.classes if self.classes is not None else [SAMPLE_CLASS_NAMES[sample]]
        return ProjectSettings(
            default_model=self.default_model or sample_model,
            threshold=self.threshold,
            pixel_size_um=self.pixel_size_um,
            classes=tuple(classes),
        )


class ProjectSettingsUpdate(_Body):
    default_model: ModelName | None = None
    threshold: Threshold | None = None
    pixel_size_um: PixelSize | None = None
    classes: ClassList | None = None

    _unique_classes = field_validator("classes")(_check_classes)

    def applied_to(self, current: ProjectSettings) -> ProjectSettings:
        """``current`` with the fields present in this body replaced."""
        given = self.model_fields_set
        return replace(
            current,
            default_model=self.default_model or current.default_model,
            threshold=self.threshold if self.threshold is not None else current.threshold,
            pixel_size_um=self.pixel_size_um if "pixel_size_um" in given else current.pixel_size_um,
            classes=tuple(self.classes) if self.classes is not None else current.classes,
        )


class ProjectSettingsOut(BaseModel):
    default_model: str
    threshold: float
    pixel_size_um: float | None
    classes: list[str]


class ProjectCreate(_Body):
    name: ProjectName
    sample: SampleType = Field(
        default="nuclei",
        description="what the images show; picks the default model and object class",
    )
    settings: ProjectSettingsBody = Field(default_factory=ProjectSettingsBody)

    _name = field_validator("name")(_strip_name)


class ProjectUpdate(_Body):
    name: ProjectName | None = None
    settings: ProjectSettingsUpdate | None = None

    _name = field_validator("name")(_strip_name)


class ProjectOut(BaseModel):
    id: str
    name: str
    owner_id: str = Field(description="the creator; owners are the members with role owner")
    created_at: datetime
    settings: ProjectSettingsOut
    role: Role = Field(description="the caller's role in this project")

    @classmethod
    def of(cls, project: Project, role: Role) -> ProjectOut:
        settings = project.settings
        return cls(
            id=project.id,
            name=project.name,
            owner_id=project.owner_id,
            created_at=project.created_at,
            settings=ProjectSettingsOut(
                default_model=settings.default_model,
                threshold=settings.threshold,
                pixel_size_um=settings.pixel_size_um,
                classes=list(settings.classes),
            ),
            role=role,
        )


class ProjectPage(BaseModel):
    items: list[ProjectOut]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null at the end"
    )


class MemberCreate(_Body):
    email: str = Field(min_length=3, max_length=MAX_EMAIL_LENGTH)
    role: Role = Role.VIEWER


class MemberUpdate(_Body):
    role: Role


class MemberOut(BaseModel):
    user_id: str
    email: str | None = Field(description="null when the account no longer exists")
    display_name: str
    role: Role

    @classmethod
    def of(cls, member: Member, email: str | None, display_name: str) -> MemberOut:
        return cls(user_id=member.user_id, email=email, display_name=display_name, role=member.role)
