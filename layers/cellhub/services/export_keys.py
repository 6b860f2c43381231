"""Where export ZIPs live in the blob store; light enough for any entry point to import.

Exports sit under ``exports/<project>/``, apart from ``projects/``: upload notifications
(prefix ``projects/``) never see them, and one lifecycle rule on ``exports/`` expires them
all in the cloud. Each run of an export writes its own ``<attempt>.zip``, so only the run
that finishes the export hands out its file.
"""

from __future__ import annotations


def exports_prefix(project_id: str) -> str:
    """The folder of every export ZIP of the project."""
    return f"exports/{project_id}/"


def export_blob_key(project_id: str, export_id: str, attempt: str) -> str:
    """The ZIP one run (``attempt``) of an export writes."""
    return f"{exports_prefix(project_id)}{export_id}/{attempt}.zip"
