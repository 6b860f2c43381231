"""``create_app``: the FastAPI application, identical in the embedded hub and in Lambda."""

from __future__ import annotations

from fastapi import FastAPI

from cellhub import __version__
from cellhub_api.container import HubServices
from cellhub_api.errors import install_error_handlers
from cellhub_api.observability import install_request_metrics
from cellhub_api.routes import ROUTERS
from cellhub_api.schemas.errors import ERROR_RESPONSES


def create_app(services: HubServices) -> FastAPI:
    """The app over ``services`` (built once per process by the deployment's wiring)."""
    app = FastAPI(
        title="Cell Segmentation Hub API",
        version=__version__,
        description="Projects, direct uploads, segmentation jobs, editing and exports.",
    )
    app.state.services = services
    install_error_handlers(app)
    install_request_metrics(app)
    for router in ROUTERS:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app
