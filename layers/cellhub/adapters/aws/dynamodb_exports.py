"""Export items of the hub table: the export record and, for long selections, its id chunks.

An export may name up to 10,000 image ids. Up to ``INLINE_IDS_BYTES`` of them stay in the
export item's ``image_ids`` list; a longer selection is cut into ``IDS#<n>`` items of at most
that size each, in the export's partition, and the export item records how many there are
(``image_id_chunks``). Every item then stays far below DynamoDB's 400 KB limit.
"""

from __future__ import annotations

from typing import Any

from cellhub.adapters.aws.dynamodb_records import (
    item_size,
    optional_time,
    time_from_text,
    time_to_text,
    to_decimal,
    to_float,
    ttl_seconds,
    without_none,
)
from cellhub.domain.jobs import Export, ExportState

INLINE_IDS_BYTES = 100_000


def export_key(export_id: str) -> tuple[str, str]:
    return f"EXPORT#{export_id}", "EXPORT"


def chunk_key(export_id: str, number: int) -> tuple[str, str]:
    return f"EXPORT#{export_id}", f"IDS#{number:010d}"


def export_items(export: Export) -> list[dict[str, Any]]:
    """The export item followed by its id chunk items (none for a short selection)."""
    pk, sk = export_key(export.id)
    item: dict[str, Any] = {
        "pk": pk,
        "sk": sk,
        "id": export.id,
        "project_id": export.project_id,
        "formats": list(export.formats),
        "pixel_size_um": to_decimal(export.pixel_size_um),
        "state": export.state.value,
        "progress": to_decimal(export.progress),
        "blob_key": export.blob_key,
        "error": export.error,
        "created_by": export.created_by,
        "created_at": time_to_text(export.created_at),
        "gsi1pk": f"PROJECT#{export.project_id}#EXPORTS",
        "gsi1sk": f"{time_to_text(export.created_at)}#{export.id}",
    }
    if export.expires_at is not None:
        item["expiry"] = time_to_text(export.expires_at)
        item["expires_at"] = ttl_seconds(export.expires_at)
    chunks = _chunks(list(export.image_ids or ()))
    if export.image_ids is not None and len(chunks) <= 1:
        item["image_ids"] = list(export.image_ids)
        chunks = []
    elif chunks:
        item["image_id_chunks"] = len(chunks)
    chunk_items = [
        {"pk": pk, "sk": chunk_key(export.id, number)[1], "id": export.id, "ids": ids}
        for number, ids in enumerate(chunks)
    ]
    return [without_none(item), *chunk_items]


def _chunks(ids: list[str]) -> list[list[str]]:
    """``ids`` cut into runs of at most ``INLINE_IDS_BYTES`` (as stored), in order."""
    if item_size({"image_ids": ids}) <= INLINE_IDS_BYTES:
        return [ids] if ids else []
    chunks: list[list[str]] = [[]]
    size = 0
    for image_id in ids:
        cost = len(image_id.encode()) + 1
        # The margin leaves room for the chunk item's keys beside its ids.
        if size + cost > INLINE_IDS_BYTES - 1024:
            chunks.append([])
            size = 0
        chunks[-1].append(image_id)
        size += cost
    return chunks


def export_from_item(item: dict[str, Any], chunks: list[dict[str, Any]]) -> Export:
    """The export of ``item``; ``chunks`` are its ``IDS#`` items in key order, if it has any."""
    image_ids: tuple[str, ...] | None = None
    if "image_ids" in item:
        image_ids = tuple(item["image_ids"])
    elif "image_id_chunks" in item:
        image_ids = tuple(image_id for chunk in chunks for image_id in chunk["ids"])
    return Export(
        id=item["id"],
        project_id=item["project_id"],
        formats=tuple(item["formats"]),
        created_by=item["created_by"],
        image_ids=image_ids,
        pixel_size_um=to_float(item.get("pixel_size_um")),
        state=ExportState(item["state"]),
        progress=float(item["progress"]),
        blob_key=item.get("blob_key"),
        error=item.get("error"),
        expires_at=optional_time(item.get("expiry")),
        created_at=time_from_text(item["created_at"]),
    )
