"""The segmentation queue message: one chunk of a job's images, as the worker receives it.

The API sends one ``SegmentChunk`` per ``CHUNK_SIZE`` images; a worker handles the chunk as
one unit of at-least-once delivery, so a chunk is small enough to finish well inside one
visibility extension and large enough that queue overhead stays negligible.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cellhub.errors import InvalidParameter

SEGMENT_SCHEMA: Literal["cellhub.segment/1"] = "cellhub.segment/1"
CHUNK_SIZE = 16


class SegmentChunk(BaseModel):
    """Segment ``image_ids`` of project ``project_id`` for job ``job_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    schema_: Literal["cellhub.segment/1"] = Field(default=SEGMENT_SCHEMA, alias="schema")
    job_id: str
    project_id: str
    image_ids: tuple[str, ...] = Field(min_length=1, max_length=CHUNK_SIZE)
    model: str
    threshold: float
    options: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


def parse_chunk(body: str) -> SegmentChunk:
    """The chunk in ``body``; a body of another schema or shape raises ``InvalidParameter``.

    ``InvalidParameter`` is permanent: redelivering the same body can never succeed, so the
    message is left to reach the dead-letter queue.
    """
    try:
        return SegmentChunk.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidParameter(f"not a {SEGMENT_SCHEMA} message", errors=exc.error_count()) from exc


def chunks_of(
    job_id: str,
    project_id: str,
    image_ids: list[str],
    *,
    model: str,
    threshold: float,
    options: dict[str, Any],
) -> list[SegmentChunk]:
    """Split a job's images into messages of at most ``CHUNK_SIZE`` images, in order."""
    return [
        SegmentChunk(
            job_id=job_id,
            project_id=project_id,
            image_ids=tuple(image_ids[start : start + CHUNK_SIZE]),
            model=model,
            threshold=threshold,
            options=options,
        )
        for start in range(0, len(image_ids), CHUNK_SIZE)
    ]
