"""HubHttpApi and HubWebSocketApi: routes on the aliases, throttling, access logs, grants."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from cellhub_infra.config import STAGES
from cellhub_infra.http_api import AUTH_ROUTES
from cellhub_infra.stack import CellHubStack

pytestmark = pytest.mark.slow


def _alias_id(stack: CellHubStack, name: str) -> str:
    return stack.get_logical_id(stack.functions[name].alias.node.default_child)  # type: ignore[arg-type]


def test_http_routes_all_go_to_the_api_alias(prod: Template, prod_stack: CellHubStack) -> None:
    integrations = prod.find_resources(
        "AWS::ApiGatewayV2::Integration", {"Properties": {"IntegrationType": "AWS_PROXY"}}
    )
    alias = _alias_id(prod_stack, "api")
    http = [i for i in integrations.values() if i["Properties"].get("PayloadFormatVersion")]
    assert http and all(alias in json.dumps(i["Properties"]["IntegrationUri"]) for i in http)
    route_keys = {
        r["Properties"]["RouteKey"]
        for r in prod.find_resources("AWS::ApiGatewayV2::Route").values()
    }
    assert {"$default", *(f"POST {path}" for path in AUTH_ROUTES)} <= route_keys


def test_http_stage_throttles_auth_routes_harder_and_logs_access(prod: Template) -> None:
    config = STAGES["prod"]
    prod.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "AutoDeploy": True,
            "DefaultRouteSettings": {
                "ThrottlingRateLimit": config.api_rate,
                "ThrottlingBurstLimit": config.api_burst,
            },
            "RouteSettings": {
                "POST /auth/login": {
                    "ThrottlingRateLimit": config.auth_rate,
                    "ThrottlingBurstLimit": config.auth_burst,
                }
            },
            "AccessLogSettings": Match.object_like(
                {"Format": Match.string_like_regexp("requestId")}
            ),
        },
    )


def test_http_cors_allows_only_the_web_origin(prod: Template) -> None:
    (api,) = prod.find_resources(
        "AWS::ApiGatewayV2::Api", {"Properties": {"ProtocolType": "HTTP"}}
    ).values()
    cors = api["Properties"]["CorsConfiguration"]
    (origin,) = cors["AllowOrigins"]
    assert "DistributionDomainName" in json.dumps(origin) or "DomainName" in json.dumps(origin)


def test_websocket_routes_go_to_the_websocket_alias(
    prod: Template, prod_stack: CellHubStack
) -> None:
    (api_id,) = prod.find_resources(
        "AWS::ApiGatewayV2::Api", {"Properties": {"ProtocolType": "WEBSOCKET"}}
    )
    routes = prod.find_resources(
        "AWS::ApiGatewayV2::Route", {"Properties": {"ApiId": {"Ref": api_id}}}
    )
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == {
        "$connect",
        "$disconnect",
        "$default",
    }
    integrations = prod.find_resources(
        "AWS::ApiGatewayV2::Integration", {"Properties": {"ApiId": {"Ref": api_id}}}
    )
    alias = _alias_id(prod_stack, "websocket")
    assert len(integrations) == 3
    assert all(
        alias in json.dumps(i["Properties"]["IntegrationUri"]) for i in integrations.values()
    )
    prod.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "ApiId": {"Ref": api_id},
            "StageName": "live",
            "DefaultRouteSettings": Match.object_like({"ThrottlingRateLimit": 100}),
            "AccessLogSettings": Match.object_like({"DestinationArn": Match.any_value()}),
        },
    )


def test_only_the_publishers_may_post_to_connections(prod: Template) -> None:
    holders = sorted(
        name
        for name, policy in prod.find_resources("AWS::IAM::Policy").items()
        if "execute-api:ManageConnections" in json.dumps(policy)
    )
    assert len(holders) == 5
    for prefix in ("Api", "WebSocket", "Thumbnail", "Export", "WorkerTaskTaskRole"):
        assert any(name.startswith(prefix) for name in holders), prefix
