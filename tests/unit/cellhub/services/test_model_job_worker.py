"""Fine-tuning and import jobs through the segment queue, with a fake runner, on the local
adapters: each delivery, crash and cancellation leaves the job, its report and the project's
models as the handler's docstring promises."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.domain.events import JobProgress, ModelJobFinished
from cellhub.domain.jobs import Job, JobState
from cellhub.domain.projects import Project, utc_now
from cellhub.errors import InvalidInput, InvalidParameter
from cellhub.ports.model_jobs import ModelArtifact, ModelJobOutcome, Progress
from cellhub.ports.notifier import RecordingNotifier
from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.model_jobs import ModelJobs
from cellhub.services.project_models import ProjectModelCard, ProjectModelStore
from cellhub.services.segmentation_worker import SegmentationWorker
from tests.unit.local_queue_world import local_queue_world

MAX_RECEIVES = 2
WEIGHTS = b"trained weights"


def card(name: str = "mine") -> ProjectModelCard:
    return ProjectModelCard(
        name=name,
        architecture="unet",
        format="checkpoint",
        origin="fine-tuned",
        base_model="classical",
        scores={"ap50": 0.8},
        sha256=hashlib.sha256(WEIGHTS).hexdigest(),
        job_id="set-by-the-handler",
        created_at=utc_now(),
    )


@dataclass
class FakeRunner:
    """Counts every unit it is given, then returns ``outcome`` (or raises ``error``)."""

    outcome: ModelJobOutcome = field(
        default_factory=lambda: ModelJobOutcome(
            accepted=True, report={"ap50": 0.8}, artifact=ModelArtifact(card(), WEIGHTS)
        )
    )
    error: BaseException | None = None
    on_unit: Callable[[str], None] | None = None
    calls: int = 0

    def finetune(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        self.calls += 1
        units = ["baseline", *(f"epoch-{n:04d}" for n in range(1, job.options["epochs"] + 1))]
        for unit in [*units, "final"]:
            if self.on_unit is not None:
                self.on_unit(unit)
            progress(unit)
            heartbeat()
        if self.error is not None:
            raise self.error
        return self.outcome

    def validate_import(
        self, job: Job, *, progress: Progress, heartbeat: Callable[[], None]
    ) -> ModelJobOutcome:
        self.calls += 1
        progress("checked")
        return self.outcome


@dataclass
class World:
    jobs: SqliteJobsRepository
    queue: SqliteJobQueue
    dead: SqliteJobQueue
    store: ProjectModelStore
    notifier: RecordingNotifier
    project: Project
    runner: FakeRunner
    clock: list[float]

    def worker(self, store: ProjectModelStore | None = None) -> SegmentationWorker:
        model_jobs = ModelJobWorker(self.jobs, self.notifier, store or self.store, self.runner)
        return SegmentationWorker(
            None,  # type: ignore[arg-type]  # model-job messages never touch images
            self.jobs,
            self.store.blobs,
            self.notifier,
            lambda project, model: pytest.fail("no segmentation here"),
            model_jobs=model_jobs,
        )

    def finetune(self, epochs: int = 3) -> Job:
        service = ModelJobs(self.jobs, self.queue, self.store, lambda: {"classical"})
        return service.start_finetune(
            self.project.id,
            base_model="classical",
            name="mine",
            epochs=epochs,
            holdout_fraction=0.2,
            min_objects=10,
            seed=0,
            created_by="alice",
        )

    def job(self, job_id: str) -> Job:
        job = self.jobs.get_job(self.project.id, job_id)
        assert job is not None
        return job

    def report(self, job: Job) -> dict[str, Any]:
        report = self.store.read_report(self.project.id, job.id)
        assert report is not None
        return report


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with local_queue_world(tmp_path, max_receives=MAX_RECEIVES) as parts:
        yield World(
            SqliteJobsRepository(parts.database),
            parts.queue,
            parts.dead,
            ProjectModelStore(parts.blobs),
            RecordingNotifier(),
            parts.project,
            FakeRunner(),
            parts.clock,
        )


def test_an_accepted_model_is_registered_reported_and_the_job_done(world: World) -> None:
    job = world.finetune(epochs=3)
    assert job.counts.total == 6
    assert world.worker().drain(world.queue) == 1
    done = world.job(job.id)
    assert (done.state, done.counts.done, done.counts.failed) == (JobState.DONE, 6, 0)
    registered = world.store.get(world.project.id, "mine")
    assert registered is not None and registered.job_id == job.id
    report = world.report(job)
    assert (report["accepted"], report["model"], report["results"]) == (True, "mine", {"ap50": 0.8})
    units = [e.unit for e in world.notifier.events if isinstance(e, JobProgress)]
    assert units == ["baseline", "epoch-0001", "epoch-0002", "epoch-0003", "final", "report"]
    (finished,) = [e for e in world.notifier.events if isinstance(e, ModelJobFinished)]
    assert finished.accepted and finished.model == "mine"


def test_a_rejected_model_is_reported_but_not_registered(world: World) -> None:
    world.runner.outcome = ModelJobOutcome(accepted=False, reason="no better than the base")
    job = world.finetune()
    world.worker().drain(world.queue)
    assert world.store.get(world.project.id, "mine") is None
    report = world.report(job)
    assert (report["accepted"], report["reason"]) == (False, "no better than the base")
    assert world.job(job.id).state is JobState.DONE


def test_a_permanent_runner_error_ends_the_job_with_one_failed_unit(world: World) -> None:
    world.runner.error = InvalidInput("only 3 objects; at least 10 are needed")
    job = world.finetune()
    assert world.worker().drain(world.queue) == 1
    done = world.job(job.id)
    assert (done.state, done.counts.failed, done.counts.finished) == (JobState.DONE, 1, True)
    report = world.report(job)
    assert (report["accepted"], report["error_code"]) == (False, "invalid_input")
    assert "3 objects" in report["reason"]


class ReportlessStore(ProjectModelStore):
    """A store whose first report write never happens: the worker died right before it."""

    crashed = False

    def write_report(self, project_id: str, job_id: str, report: dict[str, Any]) -> None:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("worker killed after registering the model")
        super().write_report(project_id, job_id, report)


def test_a_crash_between_register_and_report_does_not_train_again(world: World) -> None:
    job = world.finetune()
    crashing = ReportlessStore(world.store.blobs)
    assert world.worker(crashing).drain(world.queue) == 0
    assert world.store.get(world.project.id, "mine") is not None
    assert world.store.read_report(world.project.id, job.id) is None
    world.clock[0] += 301
    assert world.worker(crashing).drain(world.queue) == 1
    assert world.runner.calls == 1
    report = world.report(job)
    assert report["accepted"] and report["results"]["recovered_from_card"]
    assert world.job(job.id).state is JobState.DONE


def test_a_redelivery_after_the_report_runs_nothing(world: World) -> None:
    job = world.finetune()
    (message,) = world.queue.receive()
    worker = world.worker()
    worker.handle(message, heartbeat=lambda: None)
    worker.handle(message, heartbeat=lambda: None)
    assert world.runner.calls == 1
    assert world.job(job.id).counts.done == job.counts.total
    assert sum(isinstance(e, ModelJobFinished) for e in world.notifier.events) == 1


def test_cancelling_stops_the_runner_and_keeps_nothing(world: World) -> None:
    job = world.finetune(epochs=5)

    def cancel_at(unit: str) -> None:
        if unit == "epoch-0002":
            world.jobs.set_job_state(job.id, [JobState.RUNNING], JobState.CANCELLED)

    world.runner.on_unit = cancel_at
    assert world.worker().drain(world.queue) == 1
    cancelled = world.job(job.id)
    assert (cancelled.state, cancelled.counts.done) == (JobState.CANCELLED, 2)
    assert world.store.get(world.project.id, "mine") is None
    assert world.store.read_report(world.project.id, job.id) is None


def test_a_dead_lettered_job_is_reported_as_given_up(world: World) -> None:
    world.runner.error = RuntimeError("CUDA out of memory")
    job = world.finetune()
    for _ in range(MAX_RECEIVES):
        assert world.worker().drain(world.queue) == 0
        world.clock[0] += 301
    assert world.queue.receive() == []
    assert world.worker().drain_dead_letters(world.dead, attempts=MAX_RECEIVES) == 1
    report = world.report(job)
    assert (report["accepted"], report["reason"]) == (False, "gave up after 2 attempts")
    done = world.job(job.id)
    assert (done.state, done.counts.failed, done.counts.finished) == (JobState.DONE, 1, True)


def test_without_a_model_job_worker_the_message_is_a_permanent_error(world: World) -> None:
    world.finetune()
    (message,) = world.queue.receive()
    worker = SegmentationWorker(
        None,  # type: ignore[arg-type]
        world.jobs,
        world.store.blobs,
        world.notifier,
        lambda project, model: pytest.fail("no segmentation here"),
    )
    with pytest.raises(InvalidParameter):
        worker.handle(message, heartbeat=lambda: None)


def test_an_import_registers_the_validated_upload(world: World) -> None:
    upload = world.store.blobs.put(f"models/{world.project.id}/uploads/{'a' * 32}", WEIGHTS)
    service = ModelJobs(world.jobs, world.queue, world.store, lambda: {"classical"})
    job = service.start_import(
        world.project.id,
        name="theirs",
        model_format="checkpoint",
        upload_id="a" * 32,
        created_by="alice",
    )
    assert (job.counts.total, job.options["upload_key"]) == (2, upload.key)
    world.worker().drain(world.queue)
    registered = world.store.get(world.project.id, "theirs")
    assert registered is not None and registered.job_id == job.id
    assert world.job(job.id).counts.done == 2
    # The upload is spent; the registered weights are the model's own copy.
    assert not world.store.blobs.exists(upload.key)
    assert world.store.read_weights(world.project.id, registered) == WEIGHTS
