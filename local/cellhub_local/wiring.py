"""Builds the embedded hub's services: SQLite, a filesystem blob store, SQLite queues.

Everything lives under one data directory, so a restart (or a copy of the folder) resumes
the same hub::

    <data>/hub.sqlite3         metadata (accounts, projects, images, jobs, exports)
    <data>/queues.sqlite3      segment, export and storage-event queues with dead-letter queues
    <data>/blobs/              originals, thumbnails, segmentation documents, exports
    <data>/outbox/             mail (verification and reset links) as .eml files
    <data>/secrets.json        signing keys made on first start (mode 0600), unless the
                               CELLHUB_JWT_SECRET / CELLHUB_BLOB_SIGNING_SECRET settings give them
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from cellhub.adapters.local.filesystem_blobs import FilesystemBlobStore
from cellhub.adapters.local.outbox_mailer import OutboxMailer
from cellhub.adapters.local.sqlite_accounts import SqliteAccountsRepository
from cellhub.adapters.local.sqlite_database import SqliteDatabase
from cellhub.adapters.local.sqlite_images import SqliteImagesRepository
from cellhub.adapters.local.sqlite_jobs import SqliteJobsRepository
from cellhub.adapters.local.sqlite_projects import SqliteProjectsRepository
from cellhub.adapters.local.sqlite_queue import SqliteJobQueue
from cellhub.adapters.local.url_signing import UrlSigner
from cellhub.ports.notifier import Notifier
from cellhub.services.access_tokens import AccessTokens
from cellhub.services.accounts import AccountService
from cellhub.services.editing import EditingService
from cellhub.services.exports import ExportService
from cellhub.services.passwords import Passwords
from cellhub.services.segmentation_jobs import SegmentationJobs
from cellhub.services.uploads import UploadService
from cellhub.settings import Settings, get_settings
from cellhub_api.container import HubServices
from cellhub_api.live import LiveConnections

# A message whose work failed this many times is dead-lettered and its images marked failed.
MAX_RECEIVES = 3
# Seconds a storage event is hidden while its thumbnail is made (an S3 event queue's timeout).
STORAGE_EVENT_VISIBILITY = 60


def build_local_services(
    data_dir: Path,
    *,
    public_url: str,
    settings: Settings | None = None,
    notifier: Notifier | None = None,
    passwords: Passwords | None = None,
    queued_storage_events: bool = False,
) -> HubServices:
    """The hub's ports and services over ``data_dir`` (created if missing).

    ``queued_storage_events`` raises each upload's storage event into a durable queue for
    the thumbnail pump, as S3 does into SQS (what ``cellhub serve`` runs); without it the
    thumbnail is made before the upload is answered, which tests and tools that want an
    image ``ready`` at once rely on.
    """
    settings = settings or get_settings()
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = _signing_keys(data_dir, settings)
    # The /ws route serves live events only when the notifier is this registry.
    notifier = notifier if notifier is not None else LiveConnections()
    metadata = SqliteDatabase(data_dir / "hub.sqlite3")
    users = SqliteAccountsRepository(data_dir / "hub.sqlite3")
    projects = SqliteProjectsRepository(metadata)
    images = SqliteImagesRepository(metadata)
    jobs = SqliteJobsRepository(metadata)
    blobs = FilesystemBlobStore(
        data_dir / "blobs", base_url=public_url, signer=UrlSigner(keys["blob_signing"])
    )
    segment_queue, export_queue = (
        SqliteJobQueue(
            data_dir / "queues.sqlite3",
            name,
            visibility_timeout=300,
            max_receives=MAX_RECEIVES,
            dead_letter=SqliteJobQueue(data_dir / "queues.sqlite3", f"{name}-dlq"),
        )
        for name in ("segment", "export")
    )
    storage_events = (
        SqliteJobQueue(
            data_dir / "queues.sqlite3",
            "storage-events",
            visibility_timeout=STORAGE_EVENT_VISIBILITY,
            max_receives=MAX_RECEIVES,
            dead_letter=SqliteJobQueue(data_dir / "queues.sqlite3", "storage-events-dlq"),
        )
        if queued_storage_events
        else None
    )
    tokens = AccessTokens(keys["jwt"], issuer=public_url, audience="cellhub")
    accounts = AccountService(
        users, OutboxMailer(data_dir / "outbox"), tokens, passwords=passwords, public_url=public_url
    )
    return HubServices(
        accounts=accounts,
        access_tokens=tokens,
        users=users,
        projects=projects,
        images=images,
        jobs=jobs,
        blobs=blobs,
        notifier=notifier,
        segment_queue=segment_queue,
        export_queue=export_queue,
        uploads=UploadService(images, blobs, notifier),
        segmentation_jobs=SegmentationJobs(images, jobs, segment_queue, notifier),
        editing=EditingService(images, blobs, notifier),
        exports=ExportService(images, jobs, blobs, notifier),
        storage_events=storage_events,
    )


def _signing_keys(data_dir: Path, settings: Settings) -> dict[str, bytes]:
    """Keys from settings when given, else made once and kept in ``secrets.json``."""
    path = data_dir / "secrets.json"
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        stored = {"jwt": secrets.token_hex(32), "blob_signing": secrets.token_hex(32)}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(stored, handle)
    jwt = settings.jwt_secret.get_secret_value() if settings.jwt_secret else stored["jwt"]
    blob = (
        settings.blob_signing_secret.get_secret_value()
        if settings.blob_signing_secret
        else stored["blob_signing"]
    )
    return {"jwt": jwt.encode(), "blob_signing": blob.encode()}
