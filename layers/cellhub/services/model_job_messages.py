"""The model-job queue message, and telling it apart from a segmentation chunk.

Fine-tuning and import jobs need a GPU worker just as segmentation does, so their one message
per job goes to the same segment queue (``cellhub.model-job/1``) and the worker dispatches on
the body's ``schema``. The message names the job only: what to do lives in the ``Job`` record
(``model``, ``options``), which the handler reads fresh on every delivery.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cellhub.errors import InvalidParameter
from cellhub.services.segmentation_messages import SegmentChunk, parse_chunk

MODEL_JOB_SCHEMA: Literal["cellhub.model-job/1"] = "cellhub.model-job/1"
ModelJobKind = Literal["finetune", "import_model"]


class ModelJobMessage(BaseModel):
    """Run the fine-tuning or import job ``job_id`` of project ``project_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    schema_: Literal["cellhub.model-job/1"] = Field(default=MODEL_JOB_SCHEMA, alias="schema")
    job_id: str = Field(min_length=1, max_length=64)
    project_id: str = Field(min_length=1, max_length=64)
    kind: ModelJobKind

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def parse_worker_message(body: str) -> SegmentChunk | ModelJobMessage:
    """The chunk or model job in a segment-queue ``body``.

    Anything else raises ``InvalidParameter`` (permanent: redelivering it cannot help).
    """
    if _schema_of(body) != MODEL_JOB_SCHEMA:
        return parse_chunk(body)
    try:
        return ModelJobMessage.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidParameter(
            f"not a {MODEL_JOB_SCHEMA} message", errors=exc.error_count()
        ) from exc


def _schema_of(body: str) -> object:
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    return decoded.get("schema") if isinstance(decoded, dict) else None
