"""``cellhub serve --demo``: a demo account and a project holding the example images.

Idempotent: a second start finds the account and project and leaves them as they are.
The images go through the same upload and thumbnail steps as a browser upload would, and a
segmentation job is queued for them, so the demo shows the whole pipeline working.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from cellhub.domain.projects import Project
from cellhub.services.image_discovery import IMAGE_SUFFIXES
from cellhub.services.thumbnails import ThumbnailService
from cellhub.services.uploads import FileSpec
from cellhub_api.container import HubServices

DEMO_EMAIL = "demo@cellhub.local"
DEMO_PASSWORD = "cellhub-demo-password"  # a local demo account; printed at start-up
DEMO_PROJECT = "Demo: nuclei and spheroids"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "images"


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    password: str
    project_id: str


def ensure_demo(services: HubServices, examples: Path = EXAMPLES) -> DemoAccount:
    """Create (once) the demo user, its project, its images and a segmentation job."""
    user = services.users.find_user_by_email(DEMO_EMAIL)
    if user is None:
        user = services.accounts.register(DEMO_EMAIL, DEMO_PASSWORD, display_name="Demo")
        services.users.mark_email_verified(user.id)
    existing = services.projects.list_for_user(user.id, search=DEMO_PROJECT, limit=1).items
    if existing:
        return DemoAccount(DEMO_EMAIL, DEMO_PASSWORD, existing[0].id)
    project = Project.new(DEMO_PROJECT, user.id)
    services.projects.create(project)
    files = sorted(p for p in examples.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    plan = services.uploads.plan(
        project.id,
        [FileSpec(p.name, p.stat().st_size, _content_type(p)) for p in files],
    )
    thumbnails = ThumbnailService(services.images, services.blobs, services.notifier)
    for planned, path in zip(plan.uploads, files, strict=True):
        services.blobs.put(planned.key, path.read_bytes())
        thumbnails.handle_object_created(planned.key)
    services.segmentation_jobs.create(
        project.id, model="classical", threshold=0.5, created_by=user.id
    )
    return DemoAccount(DEMO_EMAIL, DEMO_PASSWORD, project.id)


def _content_type(path: Path) -> str:
    if path.suffix.lower() in {".tif", ".tiff"}:
        return "image/tiff"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"
