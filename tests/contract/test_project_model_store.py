"""``ProjectModelStore`` over every ``BlobStore`` adapter (folder, and S3 on moto): cards,
weights, reports and presigned model uploads behave the same wherever the bucket is."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cellhub.errors import BlobNotFound
from cellhub.services.model_jobs import ModelJobs
from cellhub.services.project_models import (
    ProjectModelCard,
    ProjectModelStore,
    models_prefix,
    upload_key,
)
from tests.contract.aws_fixtures import moto_endpoint
from tests.contract.test_blob_store import ADAPTERS, Harness

# The session's moto server, which the S3 factory asks for by name.
__all__ = ["moto_endpoint"]


@pytest.fixture(params=sorted(ADAPTERS))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    yield from ADAPTERS[request.param](request, tmp_path)


@pytest.fixture
def store(harness: Harness) -> ProjectModelStore:
    return ProjectModelStore(harness.store)


def card(name: str, weights: bytes, model_format: str = "checkpoint") -> ProjectModelCard:
    return ProjectModelCard.model_validate(
        {
            "name": name,
            "architecture": "unet",
            "format": model_format,
            "origin": "fine-tuned",
            "scores": {"ap50": 0.75},
            "sha256": hashlib.sha256(weights).hexdigest(),
            "job_id": "job-1",
            "created_at": datetime(2026, 1, 2, tzinfo=UTC),
        }
    )


def test_register_get_list_read_and_delete(store: ProjectModelStore) -> None:
    store.register("p1", card("b-model", b"bb"), b"bb")
    store.register("p1", card("a-model", b"aa", "onnx"), b"aa")
    store.register("p2", card("elsewhere", b"cc"), b"cc")
    store.write_report("p1", "job-1", {"accepted": True})
    store.blobs.put(upload_key("p1", "u1"), b"pending upload")
    assert [c.name for c in store.list("p1")] == ["a-model", "b-model"]
    found = store.get("p1", "a-model")
    assert found == card("a-model", b"aa", "onnx")
    assert store.read_weights("p1", found) == b"aa"
    assert store.get("p1", "missing") is None and store.get("p1", "../p2/elsewhere") is None
    store.delete("p1", "a-model")
    store.delete("p1", "a-model")  # idempotent
    assert [c.name for c in store.list("p1")] == ["b-model"]
    with pytest.raises(BlobNotFound):
        store.read_weights("p1", found)


def test_registering_again_replaces_the_model(store: ProjectModelStore) -> None:
    store.register("p1", card("mine", b"v1"), b"v1")
    store.register("p1", card("mine", b"v2"), b"v2")
    found = store.get("p1", "mine")
    assert found is not None and store.read_weights("p1", found) == b"v2"


def test_reports_are_absent_until_written(store: ProjectModelStore) -> None:
    assert store.read_report("p1", "job-9") is None
    store.write_report("p1", "job-9", {"accepted": False, "reason": "no gain"})
    assert store.read_report("p1", "job-9") == {"accepted": False, "reason": "no gain"}


def test_a_presigned_model_upload_lands_where_an_import_finds_it(
    harness: Harness, store: ProjectModelStore
) -> None:
    service = ModelJobs(_NoJobs(), _NoQueue(), store, lambda: {"classical"})  # type: ignore[arg-type]
    upload_id, target = service.model_upload_target("p1", "model.onnx", 12)
    harness.post_form(target, b"onnx graph!!")
    key = upload_key("p1", upload_id)
    assert key.startswith(models_prefix("p1")) and store.blobs.get(key) == b"onnx graph!!"
    assert store.list("p1") == []


class _NoJobs:
    """The upload target needs neither jobs nor a queue."""


class _NoQueue:
    pass
