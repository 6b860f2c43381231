"""The API's routers, one module per resource; ``ROUTERS`` is the order they mount in."""

from fastapi import APIRouter

from cellhub_api.routes import (
    auth,
    blobs,
    exports,
    health,
    images,
    jobs,
    live,
    metrics,
    models,
    project_models,
    projects,
    segmentations,
)

ROUTERS: list[APIRouter] = [
    health.router,
    metrics.router,
    auth.router,
    projects.router,
    segmentations.router,
    exports.router,
    models.router,
    project_models.router,
    images.router,
    blobs.router,
    jobs.router,
    live.router,
]
