"""The export queue's message and the step that handles one (local pump or export Lambda)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cellhub.domain.jobs import Export
from cellhub.errors import InvalidParameter
from cellhub.ports.job_queue import ReceivedMessage
from cellhub.services.exports import ExportService

EXPORT_MESSAGE_SCHEMA: Literal["cellhub.export/1"] = "cellhub.export/1"


class ExportRequested(BaseModel):
    """``{"schema": "cellhub.export/1", "export_id": ..., "project_id": ...}``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    schema_: Literal["cellhub.export/1"] = Field(default=EXPORT_MESSAGE_SCHEMA, alias="schema")
    export_id: str = Field(min_length=1, max_length=64)
    project_id: str = Field(min_length=1, max_length=64)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def parse_export_message(body: str) -> ExportRequested:
    """The message in ``body``; any other shape is a permanent ``InvalidParameter``."""
    try:
        return ExportRequested.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise InvalidParameter(f"not a {EXPORT_MESSAGE_SCHEMA} message: {exc}") from exc


def handle_export_message(
    exports: ExportService, message: ReceivedMessage, *, max_receives: int
) -> Export:
    """Run the export a message asks for. A redelivered message (receive count > 1) means an
    earlier run crashed or failed mid-way, so a ``running`` export is resumed rather than
    skipped. On its last delivery (receive count >= ``max_receives``, the queue's redrive
    limit) a failure is recorded on the export instead of being left for a retry."""
    request = parse_export_message(message.body)
    return exports.run(
        request.export_id,
        request.project_id,
        resume=message.receive_count > 1,
        last_attempt=message.receive_count >= max_receives,
    )
