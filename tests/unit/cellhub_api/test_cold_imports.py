"""The API Lambda's cold start stays free of numpy, scipy and the image/exporter libraries:
importing the handlers, building the cloud services and serving a login-free route and an
image listing load none of them; the editing and export services load them on first use."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from cellhub_api.cloud_services import BuiltOnFirstUse

REPO = Path(__file__).resolve().parents[3]
HEAVY = ("numpy", "scipy", "PIL", "tifffile", "imagecodecs", "openpyxl", "cv2", "torch")

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "true",
        "CELLHUB_TABLE_NAME": "hub", "CELLHUB_BUCKET_NAME": "data",
        "CELLHUB_MAIL_SENDER": "no-reply@hub.example.org",
        "CELLHUB_PUBLIC_URL": "https://hub.example.org", "CELLHUB_JWT_SECRET": "j" * 48,
    })
    import boto3
    from moto import mock_aws

    HEAVY = %r

    def loaded():
        return [m for m in HEAVY if m in sys.modules]

    def event(method, path, token):
        http = {"method": method, "path": path, "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7", "userAgent": "probe"}
        return {"version": "2.0", "routeKey": "$default", "rawPath": path,
                "rawQueryString": "", "isBase64Encoded": False,
                "headers": {"host": "api.example.org", "authorization": f"Bearer {token}"},
                "requestContext": {"http": http, "requestId": "r1", "stage": "$default",
                                   "routeKey": "$default", "accountId": "1", "apiId": "a"}}

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "api", 1024, "r1"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"

    with mock_aws():
        from cellhub.adapters.aws.dynamodb_table import create_hub_table
        create_hub_table(boto3.resource("dynamodb"), "hub")
        boto3.client("s3").create_bucket(Bucket="data")
        sqs = boto3.client("sqs")
        for name in ("segment", "export"):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            os.environ[f"CELLHUB_{name.upper()}_QUEUE_URL"] = url
        from cellhub_api import handler, websocket_handlers
        assert loaded() == [], ("import", loaded())
        from cellhub.domain.accounts import User, utc_now
        services = handler.asgi_adapter().app.state.services
        user = User(id="u1", email="a@lab.example.org", password_hash="x",
                    email_verified=True, created_at=utc_now())
        services.users.create_user(user)
        token = services.access_tokens.issue(user.id)
        assert handler.handler(event("GET", "/health", token), Context())["statusCode"] == 200
        reply = handler.handler(event("GET", "/projects", token), Context())
        assert reply["statusCode"] == 200, reply
        assert loaded() == [], ("requests", loaded())
        assert callable(services.editing.save) and "numpy" in sys.modules
    print("ok")
    """
)


def test_the_api_cold_start_and_light_routes_import_no_numpy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT % (HEAVY,)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


def test_a_service_built_on_first_use_is_built_once() -> None:
    built: list[int] = []

    class Service:
        value = 7

    def build() -> Service:
        built.append(1)
        return Service()

    lazy = BuiltOnFirstUse(build)
    assert built == []
    assert lazy.value == 7 and lazy.value == 7
    assert built == [1]
