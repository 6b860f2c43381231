"""The API's routers, one module per resource; ``ROUTERS`` is the order they mount in."""

from fastapi import APIRouter

from cellhub_api.routes import health

ROUTERS: list[APIRouter] = [health.router]
