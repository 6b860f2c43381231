"""The HTTP API: every route to the API function's alias ``live``, throttled, logged, CORS-bound.

FastAPI does the routing, so one ``$default`` route carries all traffic. The auth routes get
routes of their own only so that the stage can throttle them harder than the rest (API
Gateway throttles per route key). Authorization happens in the app (bearer tokens).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cellhub_infra.log_groups import enable_access_logs, log_group
from cellhub_infra.nag import acknowledge

# The unauthenticated auth routes that a guesser or a mail bomber would hit.
AUTH_ROUTES: tuple[str, ...] = (
    "/auth/login",
    "/auth/register",
    "/auth/refresh",
    "/auth/password-reset",
    "/auth/password-reset/confirm",
    "/auth/verify-email",
)


class HubHttpApi(Construct):
    """Attributes: ``api``, ``stage``, ``access_logs``, ``url``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        allowed_origins: Sequence[str],
        rate: int,
        burst: int,
        auth_rate: int,
        auth_burst: int,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        integration = integrations.HttpLambdaIntegration("Api", handler)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            default_integration=integration,
            create_default_stage=False,
            cors_preflight=apigwv2.CorsPreflightOptions(
                allow_origins=list(allowed_origins),
                allow_methods=[apigwv2.CorsHttpMethod.ANY],
                allow_headers=["authorization", "content-type", "idempotency-key"],
                expose_headers=["etag", "location", "retry-after"],
                max_age=Duration.hours(1),
            ),
        )
        auth_routes = [
            route
            for path in AUTH_ROUTES
            for route in self.api.add_routes(
                path=path, methods=[apigwv2.HttpMethod.POST], integration=integration
            )
        ]
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=rate, burst_limit=burst),
        )
        self.access_logs = log_group(self, "AccessLogs", log_retention_days)
        enable_access_logs(self.stage, self.access_logs)
        cfn_stage = self.stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.route_settings = {
            f"POST {path}": {"ThrottlingRateLimit": auth_rate, "ThrottlingBurstLimit": auth_burst}
            for path in AUTH_ROUTES
        }
        for route in auth_routes:
            self.stage.node.add_dependency(route)
        self.url = self.api.api_endpoint
        acknowledge(
            self.api,
            "The app authenticates every private route itself (bearer access tokens checked "
            "by FastAPI dependencies); the auth and health routes must stay open.",
            "AwsSolutions-APIG4",
        )
