"""Starting model jobs: what is refused and why, and the project-first segmenter lookup."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.domain.jobs import Job, JobState
from cellhub.domain.projects import Project, utc_now
from cellhub.errors import (
    InputNotFound,
    InvalidParameter,
    ModelJobActive,
    ModelNameTaken,
    ModelNotFound,
    UnknownModel,
)
from cellhub.services.deletion import delete_project
from cellhub.services.model_job_messages import ModelJobMessage, parse_worker_message
from cellhub.services.model_jobs import MAX_MODEL_BYTES, ModelJobs
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore
from cellhub.services.project_segmenters import ProjectSegmenters
from cellhub.services.segmentation_messages import SegmentChunk

GLOBAL = {"classical", "nuclei-unet"}


def card(name: str, weights: bytes = b"w") -> ProjectModelCard:
    return ProjectModelCard(
        name=name,
        architecture="unet",
        format="checkpoint",
        origin="imported",
        sha256=hashlib.sha256(weights).hexdigest(),
        job_id="j",
        created_at=utc_now(),
    )


@dataclass
class World:
    service: ModelJobs
    store: ProjectModelStore
    jobs: SqliteJobsRepository
    queue: SqliteJobQueue
    projects: SqliteProjectsRepository
    project: Project

    def finetune(self, **changes: Any) -> Job:
        arguments: dict[str, Any] = {
            "base_model": "classical",
            "name": "mine",
            "epochs": 4,
            "holdout_fraction": 0.2,
            "min_objects": 50,
            "seed": 0,
            "created_by": "alice",
        }
        return self.service.start_finetune(self.project.id, **(arguments | changes))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    database = SqliteDatabase(tmp_path / "meta.sqlite3")
    projects = SqliteProjectsRepository(database)
    project = Project.new("Nuclei", owner_id="alice")
    projects.create(project)
    queue = SqliteJobQueue(tmp_path / "q.sqlite3", "segment")
    blobs = FilesystemBlobStore(
        tmp_path / "blobs", base_url="http://127.0.0.1", signer=UrlSigner(b"k" * 32)
    )
    store = ProjectModelStore(blobs)
    jobs = SqliteJobsRepository(database)
    service = ModelJobs(jobs, queue, store, lambda: GLOBAL)
    yield World(service, store, jobs, queue, projects, project)
    queue.close()
    database.close()


def test_a_finetune_job_is_queued_with_its_progress_units(world: World) -> None:
    job = world.finetune()
    assert (job.kind, job.model, job.counts.total) == ("finetune", "classical", 7)
    (message,) = world.queue.receive()
    parsed = parse_worker_message(message.body)
    assert parsed == ModelJobMessage(job_id=job.id, project_id=world.project.id, kind="finetune")


@pytest.mark.parametrize(("changes", "cap"), [({}, 400), ({"max_images": 2}, 2)])
def test_the_image_cap_reaches_the_job_options(
    world: World, changes: dict[str, Any], cap: int
) -> None:
    assert world.finetune(**changes).options["max_images"] == cap


def test_a_segment_chunk_still_parses_as_one(world: World) -> None:
    body = SegmentChunk(job_id="j", project_id="p", image_ids=("i",), model="m", threshold=0.5)
    assert isinstance(parse_worker_message(body.to_json()), SegmentChunk)
    with pytest.raises(InvalidParameter):
        parse_worker_message('{"schema": "cellhub.model-job/1", "job_id": "j"}')


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"name": "Bad Name"}, InvalidParameter),
        ({"name": "nuclei-unet"}, ModelNameTaken),
        ({"base_model": "nowhere"}, UnknownModel),
        ({"epochs": 0}, InvalidParameter),
        ({"holdout_fraction": 1.0}, InvalidParameter),
        ({"min_objects": 0}, InvalidParameter),
        ({"max_images": 1}, InvalidParameter),
        ({"max_images": 100_001}, InvalidParameter),
    ],
)
def test_bad_finetune_requests_are_refused(
    world: World, changes: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        world.finetune(**changes)
    assert world.queue.receive() == []


def test_a_project_model_is_a_base_but_not_a_free_name(world: World) -> None:
    world.store.register(world.project.id, card("ours"), b"w")
    with pytest.raises(ModelNameTaken):
        world.finetune(name="ours")
    assert world.finetune(base_model="ours", name="ours-2").model == "ours"


def test_one_model_job_per_project_at_a_time(world: World) -> None:
    first = world.finetune()
    with pytest.raises(ModelJobActive):
        world.finetune(name="other")
    world.jobs.set_job_state(first.id, [JobState.QUEUED], JobState.DONE)
    world.finetune(name="other")


def test_an_import_needs_its_upload(world: World) -> None:
    for upload_id in ("f" * 32, "../../projects/x"):
        with pytest.raises(InputNotFound):
            world.service.start_import(
                world.project.id,
                name="theirs",
                model_format="onnx",
                upload_id=upload_id,
                created_by="alice",
            )


def test_upload_targets_are_capped_and_under_the_projects_uploads(world: World) -> None:
    upload_id, target = world.service.model_upload_target(world.project.id, "model.onnx", 1000)
    assert target.fields["key"] == f"models/{world.project.id}/uploads/{upload_id}"
    with pytest.raises(InvalidParameter):
        world.service.model_upload_target(world.project.id, "model.onnx", MAX_MODEL_BYTES + 1)


def test_deleting_a_model_and_its_project(world: World) -> None:
    world.store.register(world.project.id, card("ours"), b"w")
    world.service.delete_model(world.project.id, "ours")
    with pytest.raises(ModelNotFound):
        world.service.delete_model(world.project.id, "ours")
    world.store.register(world.project.id, card("again"), b"w")
    delete_project(world.projects, world.store.blobs, world.project.id)
    assert world.store.blobs.list(f"models/{world.project.id}/") == []


class Loaded:
    def __init__(self, label: str) -> None:
        self.label = label


def test_segmenters_resolve_the_project_first_and_load_once(world: World) -> None:
    loads: list[str] = []

    def load_global(name: str) -> Any:
        loads.append(f"global:{name}")
        return Loaded(name)

    def load_project(store: ProjectModelStore, project_id: str, found: ProjectModelCard) -> Any:
        loads.append(f"project:{found.name}:{found.sha256[:4]}")
        return Loaded(found.name)

    segmenters = ProjectSegmenters(world.store, load_global=load_global, load_project=load_project)
    world.store.register(world.project.id, card("ours"), b"w")
    for _ in range(2):
        assert segmenters(world.project.id, "ours").label == "ours"  # type: ignore[attr-defined]
        assert segmenters(world.project.id, "classical").label == "classical"  # type: ignore[attr-defined]
        assert segmenters("another", "classical").label == "classical"  # type: ignore[attr-defined]
    world.store.register(world.project.id, card("ours", b"v2"), b"v2")
    segmenters(world.project.id, "ours")
    assert [entry.split(":")[0] for entry in loads] == ["project", "global", "project"]
