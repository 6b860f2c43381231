"""The worker step of fine-tuning and import jobs: one ``cellhub.model-job/1`` message in.

The ``ModelJobRunner`` (worker package, torch) does the training or the checks; this step
owns the job's life, so that a redelivered message never trains twice or registers a model
the job did not accept. Delivery is at least once; the order, and what a crash at each point
leaves for the redelivery:

1. ``queued → running`` (conditional). A crash leaves it ``running``; the retry carries on.
2. If the job's report exists, skip to step 6: the work is done and reported.
3. If the project has a model of the job's name whose card names this job, a crash hit
   between steps 4 and 5: write the report from the card (its scores and checks) and go
   to step 6 without running anything.
4. Run the runner; each progress unit is counted once per (job, unit), so a retry re-counts
   nothing. A crash here re-runs the work (nothing was stored yet). If the model is accepted,
   register it (weights, then card; idempotent).
5. Write the report. From here on a retry finds it (step 2).
6. Count the ``report`` unit (failed when the job failed) and every unit the runner never
   reached, delete an import's spent upload, then ``running → done``, publishing
   ``ModelJobFinished`` if this delivery made that change.

A cancelled job is left alone: the runner is stopped at its next progress unit, and nothing
is registered or reported. A permanent error of the runner (``InvalidInput``) and a message
that was dead-lettered end the job with a report that says why, ``accepted: false``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cellhub.domain.events import JobProgress, ModelJobFinished
from cellhub.domain.jobs import Job, JobState
from cellhub.domain.projects import utc_now
from cellhub.errors import InvalidInput, InvalidParameter
from cellhub.ports.jobs_repository import JobsRepository
from cellhub.ports.model_jobs import (
    REPORT,
    ModelJobOutcome,
    ModelJobRunner,
    new_model_name,
    progress_units,
)
from cellhub.ports.notifier import Notifier
from cellhub.services.model_job_messages import ModelJobMessage
from cellhub.services.project_models import ProjectModelStore, upload_key

logger = logging.getLogger(__name__)

REPORT_SCHEMA = "cellhub.model-report/1"
Report = dict[str, Any]


class _Cancelled(BaseException):
    """Raised from the runner's progress callback once the job is cancelled.

    A ``BaseException`` so that a runner's ``except Exception`` cannot swallow it.
    """


class ModelJobWorker:
    """Runs model-job messages and their dead letters; safe in several processes at once."""

    def __init__(
        self,
        jobs: JobsRepository,
        notifier: Notifier,
        store: ProjectModelStore,
        runner: ModelJobRunner,
    ) -> None:
        self._jobs = jobs
        self._notifier = notifier
        self._store = store
        self._runner = runner

    def handle(self, message: ModelJobMessage, *, heartbeat: Callable[[], None]) -> None:
        """Do the job; return normally when the message may be deleted.

        Errors other than the runner's ``InvalidInput`` propagate, so the message comes back.
        """
        job = self._job(message)
        if job is None:
            return
        self._jobs.set_job_state(job.id, [JobState.QUEUED], JobState.RUNNING)
        report = self._store.read_report(job.project_id, job.id) or self._recovered(job)
        if report is None:
            report = self._run(job, heartbeat)
            if report is None:
                return
        self._finish(job, report)

    def dead_lettered(self, message: ModelJobMessage, *, attempts: int) -> None:
        """End a job whose message was received ``attempts`` times without finishing."""
        job = self._job(message)
        if job is None:
            return
        report = self._store.read_report(job.project_id, job.id) or self._recovered(job)
        if report is None:
            report = self._report(
                job, accepted=False, reason=f"gave up after {attempts} attempts", code="gave_up"
            )
        self._finish(job, report)

    def _job(self, message: ModelJobMessage) -> Job | None:
        job = self._jobs.get_job(message.project_id, message.job_id)
        if job is None or job.state is JobState.CANCELLED:
            return None
        if job.kind != message.kind:
            raise InvalidParameter(
                f"job {job.id} is a {job.kind} job, not {message.kind}", job_id=job.id
            )
        return job

    def _run(self, job: Job, heartbeat: Callable[[], None]) -> Report | None:
        """Run the runner, register an accepted model and write the report; None if cancelled."""
        try:
            outcome = self._work(job, heartbeat)
        except _Cancelled:
            return None
        except InvalidInput as error:
            return self._report(job, accepted=False, reason=error.reason, code=error.code)
        if self._cancelled(job):
            return None
        accepted, reason = outcome.accepted, outcome.reason
        if accepted:
            reason = self._register(job, outcome)
            accepted = not reason
        return self._report(job, accepted=accepted, reason=reason, results=outcome.report)

    def _work(self, job: Job, heartbeat: Callable[[], None]) -> ModelJobOutcome:
        runner_units = set(progress_units(job.kind, job.options)) - {REPORT}

        def progress(unit: str) -> None:
            if unit not in runner_units:
                logger.warning("job %s: ignoring unknown progress unit %r", job.id, unit)
                return
            if self._cancelled(job):
                raise _Cancelled
            self._count(job, unit, publish=True)

        if job.kind == "finetune":
            return self._runner.finetune(job, progress=progress, heartbeat=heartbeat)
        return self._runner.validate_import(job, progress=progress, heartbeat=heartbeat)

    def _register(self, job: Job, outcome: ModelJobOutcome) -> str:
        """Register the outcome's model; the reason it cannot be, or "" once it is."""
        if outcome.artifact is None:
            return "the job accepted a model but produced no weights"
        name = new_model_name(job)
        taken = self._store.get(job.project_id, name)
        if taken is not None and taken.job_id != job.id:
            return f"the project already has a model named {name!r}"
        card = outcome.artifact.card.model_copy(update={"name": name, "job_id": job.id})
        self._store.register(job.project_id, card, outcome.artifact.weights)
        return ""

    def _recovered(self, job: Job) -> Report | None:
        """The report of a job that registered its model but crashed before reporting."""
        card = self._store.get(job.project_id, new_model_name(job))
        if card is None or card.job_id != job.id:
            return None
        results = {"recovered_from_card": True, "scores": card.scores}
        return self._report(job, accepted=True, reason="", results=results | card.validation)

    def _report(
        self,
        job: Job,
        *,
        accepted: bool,
        reason: str,
        code: str | None = None,
        results: dict[str, Any] | None = None,
    ) -> Report:
        report: Report = {
            "schema": REPORT_SCHEMA,
            "job_id": job.id,
            "kind": job.kind,
            "model": new_model_name(job),
            "accepted": accepted,
            "reason": reason,
            "error_code": code,
            "results": results or {},
            "finished_at": utc_now().isoformat(),
        }
        self._store.write_report(job.project_id, job.id, report)
        return report

    def _finish(self, job: Job, report: Report) -> None:
        failed = report.get("error_code") is not None
        self._count(job, REPORT, failed=failed, publish=True)
        for unit in progress_units(job.kind, job.options):
            self._count(job, unit, publish=False)  # the units the runner never reached
        self._discard_upload(job)
        if self._jobs.set_job_state(job.id, [JobState.QUEUED, JobState.RUNNING], JobState.DONE):
            self._notifier.publish(
                ModelJobFinished(
                    project_id=job.project_id,
                    job_id=job.id,
                    kind=job.kind,
                    model=str(report.get("model", "")),
                    accepted=bool(report.get("accepted")),
                    reason=str(report.get("reason", "")),
                )
            )

    def _discard_upload(self, job: Job) -> None:
        """An import's uploaded file is spent once reported: an accepted model was copied to
        its own weights, a rejected one is not kept. Deleting is idempotent, so a retry is
        harmless; only a key in the project's upload folder is ever deleted."""
        key = str(job.options.get("upload_key", ""))
        if job.kind == "import_model" and key.startswith(upload_key(job.project_id, "")):
            self._store.blobs.delete(key)

    def _count(self, job: Job, unit: str, *, failed: bool = False, publish: bool) -> None:
        counted_job, counted = self._jobs.record_outcome(job.id, unit, failed=failed)
        if counted and publish:
            counts = counted_job.counts
            self._notifier.publish(
                JobProgress(
                    project_id=job.project_id,
                    job_id=job.id,
                    kind=job.kind,
                    unit=unit,
                    done=counts.done,
                    failed=counts.failed,
                    total=counts.total,
                )
            )

    def _cancelled(self, job: Job) -> bool:
        current = self._jobs.get_job(job.project_id, job.id)
        return current is None or current.state is JobState.CANCELLED
