"""The Lambda entry points: cold import time of each handler module, and what Mangum and the
Powertools decorators add to a warm API request over calling the ASGI app directly.

Cold imports: each handler module is imported in a fresh interpreter (median of 5), from
this checkout's virtual environment and, where ``cellhub package`` has built
``build/lambda`` and ``LAMBDA_PYTHON`` names a Python of the runtime's version, from the
built asset folders exactly as Lambda puts them on ``sys.path``. That second column is the
closer estimate of a Lambda cold start's import phase (Lambda's CPU share depends on the
function's memory setting, so scale accordingly).

Warm requests: the cloud services on moto (``mock_aws``, in this process), one app, one
route at a time, three ways, interleaved so drift hits all alike: ``direct`` awaits the
FastAPI app with an ASGI scope; ``mangum`` calls the Mangum adapter with a genuine API
Gateway HTTP API (payload 2.0) event; ``handler`` is the deployed entry point (Powertools
logger, metrics, tracer around Mangum; the metrics flush prints one EMF line per request,
which is how Lambda publishes them). Routes: ``GET /health`` and an authenticated
``GET /projects/{id}/images`` (a 50-image page read from DynamoDB on moto).

Run from the repository root: ``.venv/bin/python bench/bench_cloud_handlers.py``
(``LAMBDA_PYTHON=/path/to/python3.12`` adds the built-assets column).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_ROOT / "layers"), str(_ROOT)]
ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true", "CELLHUB_TABLE_NAME": "hub",
    "CELLHUB_BUCKET_NAME": "cellhub-data", "CELLHUB_MAIL_SENDER": "no-reply@hub.example.org",
    "CELLHUB_PUBLIC_URL": "https://hub.example.org", "CELLHUB_JWT_SECRET": "j" * 48,
}  # fmt: skip
os.environ.update(ENV)

from bench.table import print_table  # noqa: E402

HANDLERS = {
    "cellhub_api.handler": "api",
    "cellhub_api.websocket_handlers": "websocket",
    "cellhub_thumbnail.handler": "thumbnail",
    "cellhub_export.handler": "export",
}
HEAVY = ("numpy", "scipy", "PIL", "openpyxl", "fastapi")
IMPORT_RUNS = 5
IMPORT_HEADERS = ("module", "venv wall ms", "venv CPU ms", "built 3.12 wall ms",
                  "built 3.12 CPU ms", "heavy modules loaded")  # fmt: skip
WARMUP = 30
ROUNDS = {"/health": 2000, "images": 60}


def import_probe(module: str) -> str:
    return (
        "import sys, time; t, c = time.perf_counter(), time.process_time(); import importlib; "
        f"importlib.import_module({module!r}); "
        "print(time.perf_counter() - t, time.process_time() - c, "
        f"' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )


def cold_import(command: list[str], module: str) -> tuple[float, float, str]:
    """Median wall and CPU seconds of the import over fresh interpreters (CPU time is the
    steadier figure on a shared machine), and the heavy modules it loaded."""
    wall, cpu, loaded = [], [], ""
    for _ in range(IMPORT_RUNS):
        out = subprocess.run(
            [*command, import_probe(module)], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        ).stdout.split(maxsplit=2)  # fmt: skip
        wall.append(float(out[0]))
        cpu.append(float(out[1]))
        loaded = out[2].strip() if len(out) > 2 else ""
    return statistics.median(wall), statistics.median(cpu), loaded or "-"


def built_asset_command(asset: str) -> list[str] | None:
    """A ``python -c`` command that sees only the built asset, its layer and the runtime's
    boto3 (as ``cellhub package --check-imports`` installs it), or None where not built."""
    python, out = os.environ.get("LAMBDA_PYTHON"), _ROOT / "build" / "lambda"
    if not python or not (out / asset).is_dir():
        return None
    path = [str(out / asset), str(out / "layer" / "python"), str(out / ".runtime")]
    return [python, "-I", "-c", f"import sys; sys.path[:0] = {path!r}; exec(sys.argv[1])"]


def cold_import_rows() -> list[list[Any]]:
    rows = []
    for module, asset in HANDLERS.items():
        wall, cpu, loaded = cold_import([sys.executable, "-c"], module)
        built = built_asset_command(asset)
        built_wall = built_cpu = "-"
        if built is not None:
            b_wall, b_cpu, _ = cold_import(built, module)
            built_wall, built_cpu = f"{b_wall * 1000:.0f}", f"{b_cpu * 1000:.0f}"
        rows.append([module, f"{wall * 1000:.0f}", f"{cpu * 1000:.0f}", built_wall, built_cpu,
                     loaded])  # fmt: skip
    return rows


@dataclass
class LambdaContext:
    function_name: str = "cellhub-api"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cellhub-api:live"
    aws_request_id: str = "3e5c1b0a-8f7d-4c2e-9b6a-1d0f2e3c4b5a"


def http_event(method: str, path: str, *, token: str) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the function receives it."""
    host = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    headers = {
        "accept": "application/json", "authorization": f"Bearer {token}", "content-length": "0",
        "host": host, "user-agent": "python-httpx/0.28.1", "x-forwarded-for": "203.0.113.7",
        "x-amzn-trace-id": "Root=1-6742a6d0-0f5b8e2a4c1d3b6e7f809a1b",
        "x-forwarded-port": "443", "x-forwarded-proto": "https",
    }  # fmt: skip
    http = {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
            "userAgent": "python-httpx/0.28.1"}  # fmt: skip
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": host,
            "domainPrefix": "a1b2c3d4e5", "http": http, "requestId": "BvV3hiQ1IAMEVxw=",
            "routeKey": "$default", "stage": "$default", "time": "24/Nov/2026:04:40:00 +0000",
            "timeEpoch": 1795495200000,
        },
    }  # fmt: skip


async def asgi_call(app: Any, event: dict[str, Any]) -> int:
    """Await the ASGI app with the scope the event describes; returns the status."""
    path = event["rawPath"]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": event["requestContext"]["http"]["method"],
        "scheme": "https", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "client": ("203.0.113.7", 0), "server": ("api", 443),
        "headers": [(k.encode(), v.encode()) for k, v in event["headers"].items()],
    }  # fmt: skip
    received = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def seed_hub(handler: Any) -> tuple[str, str]:
    """The resources a stack creates, a signed-in user and a 50-image project on moto."""
    import boto3

    from cellhub.adapters.aws.dynamodb_table import create_hub_table
    from cellhub.domain.accounts import User, utc_now
    from cellhub.domain.images import Image
    from cellhub.domain.projects import Project

    create_hub_table(boto3.resource("dynamodb"), "hub")
    boto3.client("s3").create_bucket(Bucket="cellhub-data")
    sqs = boto3.client("sqs")
    for name in ("segment", "export"):
        os.environ[f"CELLHUB_{name.upper()}_QUEUE_URL"] = sqs.create_queue(QueueName=name)[
            "QueueUrl"
        ]
    services = handler.asgi_adapter().app.state.services
    user = User(id="u-bench", email="bench@lab.example.org", password_hash="x",
                email_verified=True, created_at=utc_now())  # fmt: skip
    services.users.create_user(user)
    project = Project.new("bench", user.id)
    services.projects.create(project)
    services.images.add_many([
        Image.new(project.id, f"img{i:03d}.png", size=1000, content_type="image/png",
                  blob_key=f"projects/{project.id}/originals/{i}")
        for i in range(50)
    ])  # fmt: skip
    return services.access_tokens.issue(user.id), project.id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def warm_rows() -> list[list[Any]]:
    from moto import mock_aws

    with mock_aws():
        from cellhub_api import handler

        token, project_id = seed_hub(handler)
        adapter, app = handler.asgi_adapter(), handler.asgi_adapter().app
        loop = asyncio.new_event_loop()
        paths = {"/health": "/health", "images": f"/projects/{project_id}/images"}
        rows: list[list[Any]] = []
        for route, rounds in ROUNDS.items():
            event = http_event("GET", paths[route], token=token)
            ways: dict[str, Callable[[], int]] = {
                "direct ASGI": lambda e=event: loop.run_until_complete(asgi_call(app, e)),
                "Mangum": lambda e=event: int(adapter(e, LambdaContext())["statusCode"]),
                "handler": lambda e=event: int(handler.handler(e, LambdaContext())["statusCode"]),
            }  # fmt: skip
            times: dict[str, list[float]] = {way: [] for way in ways}
            with Path(os.devnull).open("w") as null, contextlib.redirect_stdout(null):
                for i in range(WARMUP + rounds):
                    for way, call in ways.items():
                        start = time.perf_counter()
                        status = call()
                        elapsed = time.perf_counter() - start
                        if status != 200:
                            raise SystemExit(f"{way} {route}: HTTP {status}")
                        if i >= WARMUP:
                            times[way].append(elapsed * 1000)
            base = statistics.median(times["direct ASGI"])
            for way, values in times.items():
                median = statistics.median(values)
                p99 = percentile(values, 0.99)
                rows.append([f"GET {route}", way, rounds, f"{median:.3f}", f"{p99:.3f}",
                             f"{median - base:+.3f}"])  # fmt: skip
        loop.close()
        return rows


def main() -> int:
    print_table(
        f"Cold import of each handler module (fresh interpreter, median of {IMPORT_RUNS})",
        IMPORT_HEADERS,
        cold_import_rows(),
    )
    print_table(
        "Warm API request: Mangum and the Lambda handler vs the ASGI app (moto backends)",
        ["route", "called as", "requests", "median ms", "p99 ms", "median over direct ms"],
        warm_rows(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
