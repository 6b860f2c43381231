"""``cellhub serve``: the whole hub in one process — API, thumbnail and export handling,
segmentation workers — on SQLite, a filesystem blob store and durable local queues.

``--backend aws`` runs the cloud's entry points on AWS APIs instead: moto's server unless
``--endpoint-url`` names one (see ``cellhub_local.emulated_cloud``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import uvicorn

from cellhub.services.model_job_worker import ModelJobWorker
from cellhub.services.project_models import ProjectModelStore
from cellhub.services.project_segmenters import ProjectSegmenters
from cellhub_api.app import create_app
from cellhub_api.container import HubServices
from cellhub_api.web_client import mount_web_client
from cellhub_local.demo import ensure_demo
from cellhub_local.queue_pumps import start_pumps, stop_pumps
from cellhub_local.wiring import MAX_RECEIVES, build_local_services

log = logging.getLogger(__name__)


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser("serve", help="run the hub on this machine (no cloud needed)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data", type=Path, default=Path(".cellhub"), help="data directory")
    parser.add_argument("--segment-workers", type=int, default=1, help="segmentation threads")
    parser.add_argument("--demo", action="store_true", help="create a demo account and project")
    parser.add_argument(
        "--backend",
        choices=("local", "aws"),
        default="local",
        help="local: SQLite and files; aws: the cloud's handlers on AWS APIs (emulated cloud)",
    )
    parser.add_argument(
        "--endpoint-url",
        help="with --backend aws: the AWS endpoint to use (default: start moto on loopback)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        from cellhub_local.emulated_cloud.runner import serve

        return serve(
            host=args.host,
            port=args.port,
            endpoint_url=args.endpoint_url,
            segment_workers=args.segment_workers,
            demo=args.demo,
        )
    public_url = f"http://{args.host}:{args.port}"
    services = build_local_services(args.data, public_url=public_url, queued_storage_events=True)
    if args.demo:
        demo = ensure_demo(services)
        print(f"demo account: {demo.email} / {demo.password} (project {demo.project_id})")
    pumps = start_pumps(
        services,
        segmenters := _segmenters(services),
        segment_workers=args.segment_workers,
        max_receives=MAX_RECEIVES,
        model_jobs=_model_jobs(services, segmenters),
    )
    print(f"Cell Segmentation Hub on {public_url} (data in {args.data.resolve()})")
    app = create_app(services)
    mount_web_client(app)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        stop_pumps(pumps)
    return 0


def _segmenters(services: HubServices) -> ProjectSegmenters:
    # The worker's lookup (project model first, each loaded once), as the GPU worker builds it.
    from cellhub_worker.worker_wiring import project_segmenters

    return project_segmenters(ProjectModelStore(services.blobs))


def _model_jobs(services: HubServices, segmenters: ProjectSegmenters) -> ModelJobWorker | None:
    from cellhub_worker.worker_wiring import model_job_worker

    return model_job_worker(
        images=services.images,
        jobs=services.jobs,
        blobs=services.blobs,
        notifier=services.notifier,
        segmenters=segmenters,
    )
