"""The jobs repository on DynamoDB: job, outcome and export items in the hub table (see the port).

A job's partition ``JOB#<id>`` holds the job item and one outcome item per image counted.
``record_outcome`` is one transaction of the outcome put (``attribute_not_exists``) and an
``ADD`` on the job's counter, so concurrent workers never lose a count and a redelivered
message, whose put fails, never adds one. A job carries its gsi3 keys (the project's active
jobs, oldest first) only while queued or running: ``set_job_state`` copies them in from
``active_pk``/``active_sk`` or removes them in the same conditional write that moves it.

An export's ``image_ids`` (up to 10,000 ids, ~350 KB) stay in the export item while small and
go to ``IDS#<n>`` chunk items in its partition otherwise, written in the same transaction,
so no item nears the 400 KB limit. A finished export's ``expires_at`` is its TTL.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from cellhub.adapters.aws.dynamodb_exports import (
    export_from_item,
    export_items,
    export_key,
)
from cellhub.adapters.aws.dynamodb_expressions import Expression, only_if_new
from cellhub.adapters.aws.dynamodb_records import (
    DynamoRepository,
    check_action,
    failed,
    put_action,
    time_from_text,
    time_to_text,
    to_decimal,
    ttl_seconds,
    update_action,
)
from cellhub.domain.jobs import Export, ExportState, Job, JobCounts, JobState
from cellhub.errors import DuplicateRecord, InvalidParameter, JobNotFound, ProjectNotFound
from cellhub.ports.jobs_repository import RecordedOutcome


def _job_key(job_id: str) -> tuple[str, str]:
    return f"JOB#{job_id}", "JOB"


class DynamoJobsRepository(DynamoRepository):
    """A ``JobsRepository`` in the hub table (a boto3 ``Table`` resource)."""

    def create_job(self, job: Job) -> None:
        pk, sk = _job_key(job.id)
        created_key = f"{time_to_text(job.created_at)}#{job.id}"
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "id": job.id,
            "project_id": job.project_id,
            "kind": job.kind,
            "model": job.model,
            "threshold": to_decimal(job.threshold),
            "options": json.dumps(job.options),
            "state": job.state.value,
            "total": job.counts.total,
            "done": job.counts.done,
            "failed": job.counts.failed,
            "created_by": job.created_by,
            "created_at": time_to_text(job.created_at),
            "gsi1pk": f"PROJECT#{job.project_id}#JOBS",
            "gsi1sk": created_key,
            "active_pk": f"PROJECT#{job.project_id}#ACTIVE_JOBS",
            "active_sk": created_key,
        }
        if job.state.active:
            item.update(gsi3pk=item["active_pk"], gsi3sk=created_key)
        self._create(job.project_id, [item])

    def _create(self, project_id: str, items: list[dict[str, Any]]) -> None:
        """Put new items of a project (the first names the record) in one transaction."""
        project, absent = Expression(), only_if_new()
        project.exists()
        actions = [check_action(f"PROJECT#{project_id}", "PROJECT", project)]
        codes = self._transact(actions + [put_action(item, absent) for item in items])
        if codes is None:
            return
        if failed(codes, 0):
            raise ProjectNotFound("no such project", project_id=project_id)
        raise DuplicateRecord("a record with this id exists", id=items[0]["id"])

    def get_job(self, project_id: str, job_id: str) -> Job | None:
        item = self._get(*_job_key(job_id))
        if item is None or item["project_id"] != project_id:
            return None
        return _job(item)

    def record_outcome(
        self, job_id: str, image_id: str, *, failed: bool = False
    ) -> RecordedOutcome:
        pk, sk = _job_key(job_id)
        absent, counter = only_if_new(), Expression()
        counter.add("failed" if failed else "done", 1)
        counter.exists()
        outcome = {"pk": pk, "sk": f"OUTCOME#{image_id}", "failed": failed}
        codes = self._transact([put_action(outcome, absent), update_action(pk, sk, counter)])
        item = self._get(pk, sk)
        if item is None:
            raise JobNotFound("no such job", job_id=job_id)
        return RecordedOutcome(_job(item), counted=codes is None)

    def set_job_state(
        self, job_id: str, from_states: Collection[JobState], to_state: JobState
    ) -> bool:
        change = Expression()
        if to_state.active:
            change.copy("gsi3pk", "active_pk")
            change.copy("gsi3sk", "active_sk")
        else:
            change.remove("gsi3pk")
            change.remove("gsi3sk")
        return self._set_state(_job_key(job_id), from_states, to_state, change) is not None

    def list_active_jobs(self, project_id: str) -> list[Job]:
        items = self._query(Key("gsi3pk").eq(f"PROJECT#{project_id}#ACTIVE_JOBS"), IndexName="gsi3")
        # The index can trail the table by a moment; the item's own state has the last word.
        jobs = [_job(item) for item in items]
        return [job for job in jobs if job.state.active]

    def create_export(self, export: Export) -> None:
        self._create(export.project_id, export_items(export))

    def get_export(self, project_id: str, export_id: str) -> Export | None:
        item = self._get(*export_key(export_id))
        if item is None or item["project_id"] != project_id:
            return None
        chunks = []
        if "image_id_chunks" in item:
            chunks = list(self._partition(f"EXPORT#{export_id}", "IDS#"))
        return export_from_item(item, chunks)

    def set_export_progress(self, export_id: str, progress: float) -> bool:
        if not 0.0 <= progress <= 1.0:
            raise InvalidParameter("progress must be 0.0..1.0", progress=progress)
        change = Expression()
        change.set("progress", to_decimal(progress))
        change.exists()
        change.where(Attr("state").eq(ExportState.RUNNING.value))
        return self._update(*export_key(export_id), change) is not None

    def set_export_state(
        self,
        export_id: str,
        from_states: Collection[ExportState],
        to_state: ExportState,
        *,
        blob_key: str | None = None,
        error: str | None = None,
        expires_at: datetime | None = None,
    ) -> bool:
        change = Expression()
        if blob_key is not None:
            change.set("blob_key", blob_key)
        if error is not None:
            change.set("error", error)
        if expires_at is not None:
            change.set("expiry", time_to_text(expires_at))
            change.set("expires_at", ttl_seconds(expires_at))
        if to_state is ExportState.DONE:
            change.set("progress", to_decimal(1.0))
        stored = self._set_state(export_key(export_id), from_states, to_state, change)
        if stored is None:
            return False
        if expires_at is not None:
            # The id chunks go with their export when it expires.
            for chunk in self._partition(f"EXPORT#{export_id}", "IDS#"):
                ttl = Expression()
                ttl.set("expires_at", ttl_seconds(expires_at))
                self._update(chunk["pk"], chunk["sk"], ttl)
        return True

    def _set_state(
        self,
        key: tuple[str, str],
        from_states: Collection[JobState | ExportState],
        to_state: JobState | ExportState,
        change: Expression,
    ) -> dict[str, Any] | None:
        if not from_states:
            raise InvalidParameter("from_states must not be empty")
        change.set("state", to_state.value)
        change.exists()
        change.where(Attr("state").is_in([s.value for s in from_states]))
        return self._update(*key, change, returns="UPDATED_NEW")


def _job(item: dict[str, Any]) -> Job:
    return Job(
        id=item["id"],
        project_id=item["project_id"],
        kind=item["kind"],
        model=item["model"],
        threshold=float(item["threshold"]),
        options=json.loads(item["options"]),
        state=JobState(item["state"]),
        counts=JobCounts(
            total=int(item["total"]), done=int(item["done"]), failed=int(item["failed"])
        ),
        created_by=item["created_by"],
        created_at=time_from_text(item["created_at"]),
    )
