"""``cellhub serve --backend aws`` hands its options to the emulated cloud's runner."""

from __future__ import annotations

from typing import Any

import pytest

from cellhub_local.cli import main
from cellhub_local.emulated_cloud import runner


def test_aws_backend_runs_the_emulated_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def serve(**options: Any) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(runner, "serve", serve)
    argv = ["serve", "--backend", "aws", "--endpoint-url", "http://127.0.0.1:5000"]
    assert main([*argv, "--port", "8123", "--demo"]) == 0
    assert calls == [
        {
            "host": "127.0.0.1",
            "port": 8123,
            "endpoint_url": "http://127.0.0.1:5000",
            "segment_workers": 1,
            "demo": True,
        }
    ]


def test_backend_must_be_local_or_aws() -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--backend", "gcp"])
