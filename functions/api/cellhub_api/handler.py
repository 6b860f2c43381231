"""The API Lambda: API Gateway HTTP API (payload v2) events into the FastAPI app via Mangum.

The app and its services are built on the first event of a container and reused after, so
clients, the signing key and the route table load once per cold start. Logs carry the
Lambda context and the HTTP API's request id as the correlation id.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from cellhub.adapters.aws.wiring import AwsResources, traced
from cellhub_api.app import create_app
from cellhub_api.cloud_services import build_cloud_services

SERVICE = "cellhub-api"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="CellHub", service=SERVICE)


@lru_cache(maxsize=1)
def asgi_adapter() -> Mangum:
    """The app behind Mangum, built once per container."""
    services = build_cloud_services(AwsResources.from_env())
    # No lifespan: the app keeps no startup state beyond what the services hold.
    return Mangum(create_app(services), lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@traced(SERVICE)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Mangum declares its own LambdaContext protocol; the runtime's object satisfies both.
    response: dict[str, Any] = asgi_adapter()(event, cast(Any, context))
    status = int(response.get("statusCode", 500))
    metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
    return response
