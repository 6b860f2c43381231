"""Jobs and exports contract: exact counters, conditional state changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cellhub.domain.jobs import Export, ExportState, Job, JobState
from cellhub.domain.projects import Project
from cellhub.errors import DuplicateRecord, JobNotFound

from .conftest import Repositories, race

# --- jobs and exports -------------------------------------------------------------------


def test_job_counters_are_exact_under_concurrency(repos: Repositories, project: Project) -> None:
    job = Job.new(project.id, model="unet", threshold=0.5, total=400, created_by="alice")
    repos.jobs.create_job(job)

    def work(i: int) -> None:
        for n in range(50):
            repos.jobs.record_outcome(job.id, f"image-{i}-{n}", failed=i % 2 == 1)

    assert race(8, work) == [None] * 8
    stored = repos.jobs.get_job(project.id, job.id)
    assert stored is not None
    assert (stored.counts.done, stored.counts.failed) == (200, 200)
    assert stored.counts.finished


def test_job_state_changes_are_conditional(repos: Repositories, project: Project) -> None:
    first = Job.new(project.id, model="unet", threshold=0.5, total=2, created_by="alice")
    second = replace(
        Job.new(project.id, model="hrnet", threshold=0.3, total=1, created_by="bob"),
        options={"tile": 512},
        created_at=first.created_at + timedelta(seconds=1),
    )
    repos.jobs.create_job(first)
    repos.jobs.create_job(second)
    assert repos.jobs.get_job(project.id, second.id) == second
    assert repos.jobs.get_job("other", second.id) is None
    with pytest.raises(DuplicateRecord):
        repos.jobs.create_job(first)
    assert repos.jobs.set_job_state(first.id, {JobState.QUEUED}, JobState.RUNNING)
    assert not repos.jobs.set_job_state(first.id, {JobState.QUEUED}, JobState.RUNNING)
    assert [j.id for j in repos.jobs.list_active_jobs(project.id)] == [first.id, second.id]
    assert repos.jobs.set_job_state(
        second.id, {JobState.QUEUED, JobState.RUNNING}, JobState.CANCELLED
    )
    assert [j.id for j in repos.jobs.list_active_jobs(project.id)] == [first.id]
    repos.jobs.record_outcome(first.id, "a")
    assert repos.jobs.record_outcome(first.id, "b", failed=True).job.counts.finished


def test_an_image_outcome_counts_once_per_job(repos: Repositories, project: Project) -> None:
    job = Job.new(project.id, model="unet", threshold=0.5, total=3, created_by="alice")
    other = Job.new(project.id, model="unet", threshold=0.5, total=1, created_by="alice")
    repos.jobs.create_job(job)
    repos.jobs.create_job(other)

    def redeliver(_: int) -> int:
        return sum(repos.jobs.record_outcome(job.id, "a").counted for _ in range(20))

    assert sum(race(6, redeliver)) == 1
    again = repos.jobs.record_outcome(job.id, "a", failed=True)
    assert not again.counted
    assert (again.job.counts.done, again.job.counts.failed) == (1, 0)
    assert not again.job.counts.finished
    assert repos.jobs.record_outcome(other.id, "a").job.counts.done == 1
    with pytest.raises(JobNotFound):
        repos.jobs.record_outcome("no-such-job", "a")


def test_export_progress_and_completion(repos: Repositories, project: Project) -> None:
    export = Export.new(
        project.id, ("coco", "csv"), created_by="alice", image_ids=("a", "b"), pixel_size_um=0.65
    )
    repos.jobs.create_export(export)
    assert repos.jobs.get_export(project.id, export.id) == export
    assert not repos.jobs.set_export_progress(export.id, 0.5)
    assert repos.jobs.set_export_state(export.id, {ExportState.QUEUED}, ExportState.RUNNING)
    assert repos.jobs.set_export_progress(export.id, 0.5)
    expires = datetime(2026, 2, 1, tzinfo=UTC)
    assert repos.jobs.set_export_state(
        export.id,
        {ExportState.RUNNING},
        ExportState.DONE,
        blob_key="exports/x.zip",
        expires_at=expires,
    )
    done = repos.jobs.get_export(project.id, export.id)
    assert done == replace(
        export, state=ExportState.DONE, progress=1.0, blob_key="exports/x.zip", expires_at=expires
    )
    cancelled = Export.new(project.id, ("yolo",), created_by="alice")
    repos.jobs.create_export(cancelled)
    assert repos.jobs.set_export_state(cancelled.id, {ExportState.QUEUED}, ExportState.CANCELLED)
    assert not repos.jobs.set_export_progress(cancelled.id, 0.1)
    assert not repos.jobs.set_export_state(cancelled.id, {ExportState.RUNNING}, ExportState.DONE)
