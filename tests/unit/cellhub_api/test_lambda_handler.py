"""The API Lambda end to end on moto: genuine HTTP API (payload 2.0) events through Mangum.

The services are the cloud's own, built by the handler from the environment a stack would
set: DynamoDB, S3, SQS and SES are moto's; no WebSocket endpoint, so events are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cellhub.adapters.aws.dynamodb_table import create_hub_table
from cellhub.domain.accounts import User, utc_now
from cellhub.settings import get_settings
from cellhub_api import handler as api_handler
from cellhub_api.container import HubServices

REGION = "us-east-1"
SENDER = "no-reply@hub.example.org"


@dataclass
class LambdaContext:
    function_name: str = "cellhub-api"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cellhub-api:live"
    aws_request_id: str = "3e5c1b0a-8f7d-4c2e-9b6a-1d0f2e3c4b5a"


def provision(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resources a stack creates, named in the environment as it would name them."""
    boto3_resources = create_hub_table(boto3.resource("dynamodb", region_name=REGION), "hub")
    assert boto3_resources.table_status == "ACTIVE"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="cellhub-data")
    sqs = boto3.client("sqs", region_name=REGION)
    for name in ("segment", "export"):
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        queue = sqs.create_queue(QueueName=name)["QueueUrl"]
        monkeypatch.setenv(f"CELLHUB_{name.upper()}_QUEUE_URL", queue)
        monkeypatch.setenv(f"CELLHUB_{name.upper()}_DLQ_URL", dlq)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    for name, value in {
        "CELLHUB_TABLE_NAME": "hub",
        "CELLHUB_BUCKET_NAME": "cellhub-data",
        "CELLHUB_MAIL_SENDER": SENDER,
        "CELLHUB_PUBLIC_URL": "https://hub.example.org",
        "CELLHUB_JWT_SECRET": "j" * 48,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServices]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "CellHubTest",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        provision(monkeypatch)
        get_settings.cache_clear()
        api_handler.asgi_adapter.cache_clear()
        built: HubServices = api_handler.asgi_adapter().app.state.services  # type: ignore[attr-defined]
        yield built
    api_handler.asgi_adapter.cache_clear()
    get_settings.cache_clear()


def http_event(
    method: str, path: str, *, token: str | None = None, body: Any = None
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event, as API Gateway sends it to the function."""
    headers = {
        "accept": "application/json",
        "content-length": "0",
        "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "user-agent": "python-httpx/0.28.1",
        "x-amzn-trace-id": "Root=1-6742a6d0-0f5b8e2a4c1d3b6e7f809a1b",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    text = None if body is None else json.dumps(body)
    if text is not None:
        headers.update({"content-type": "application/json", "content-length": str(len(text))})
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "python-httpx/0.28.1",
            },
            "requestId": "BvV3hiQ1IAMEVxw=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:04:40:00 +0000",
            "timeEpoch": 1795495200000,
        },
        **({"body": text} if text is not None else {}),
        "isBase64Encoded": False,
    }


def invoke(event: dict[str, Any]) -> tuple[int, Any]:
    response = api_handler.handler(event, LambdaContext())
    body = response.get("body") or "null"
    return response["statusCode"], json.loads(body)


def signed_in(services: HubServices) -> str:
    user = User(
        id="u-alice",
        email="alice@lab.example.org",
        password_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        email_verified=True,
        created_at=utc_now(),
    )
    services.users.create_user(user)
    return services.access_tokens.issue(user.id)


def test_health_answers_through_mangum(services: HubServices) -> None:
    status, body = invoke(http_event("GET", "/health"))
    assert status == 200 and body["status"] == "ok"
    # The HTTP API's request id is the correlation id of every log line of the invocation.
    assert api_handler.logger.get_correlation_id() == "BvV3hiQ1IAMEVxw="


def test_an_authenticated_route_runs_on_the_cloud_services(services: HubServices) -> None:
    token = signed_in(services)
    status, created = invoke(
        http_event("POST", "/projects", token=token, body={"name": "Spheroids"})
    )
    assert status == 201, created
    status, listed = invoke(http_event("GET", "/projects", token=token))
    assert status == 200
    assert [p["id"] for p in listed["items"]] == [created["id"]]
    assert services.projects.get(created["id"]) is not None  # stored in DynamoDB


def test_a_missing_or_forged_token_is_refused(services: HubServices) -> None:
    assert invoke(http_event("GET", "/projects"))[0] == 401
    assert invoke(http_event("GET", "/projects", token="e30.e30.forged"))[0] == 401


def test_registration_mails_through_ses(services: HubServices) -> None:
    body = {"email": "bob@lab.example.org", "password": "correct horse battery"}
    status, reply = invoke(http_event("POST", "/auth/register", body=body))
    assert status == 201, reply
    assert services.users.find_user_by_email("bob@lab.example.org") is not None


def test_the_signing_key_comes_from_secrets_manager_once_per_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cellhub.adapters.aws import wiring

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("CELLHUB_TABLE_NAME", "hub")
    monkeypatch.delenv("CELLHUB_JWT_SECRET", raising=False)
    get_settings.cache_clear()
    wiring._secret_string.cache_clear()
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name=REGION)
        arn = secrets.create_secret(Name="cellhub/jwt", SecretString="s" * 64)["ARN"]
        monkeypatch.setenv("CELLHUB_JWT_SECRET_ARN", arn)
        resources = wiring.AwsResources.from_env()
        assert wiring.jwt_secret(resources) == b"s" * 64
        secrets.put_secret_value(SecretId=arn, SecretString="t" * 64)
        assert wiring.jwt_secret(resources) == b"s" * 64  # read once, then cached
        assert "s" * 64 not in repr(resources)
    wiring._secret_string.cache_clear()
    get_settings.cache_clear()
