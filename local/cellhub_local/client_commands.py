"""The ``cellhub`` verbs that talk to a running hub: login, projects, upload, jobs, segment, export.

``login`` keeps the hub's URL and token pair in ``credentials.json`` (mode 0600) under
``$CELLHUB_CONFIG_DIR`` or ``~/.config/cellhub``; every other verb starts by trading the
stored refresh token for a fresh pair, so a session lasts as long as its refresh token.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tqdm import tqdm

from cellhub.errors import CellhubError
from cellhub_local.client import HubClient, HubError

T = TypeVar("T")
Verb = Callable[[HubClient, argparse.Namespace], int]


def config_dir() -> Path:
    configured = os.environ.get("CELLHUB_CONFIG_DIR")
    return Path(configured) if configured else Path.home() / ".config" / "cellhub"


def save_credentials(data: dict[str, Any]) -> Path:
    path = config_dir() / "credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(data, handle)
    path.chmod(0o600)  # an older file keeps its mode through O_CREAT
    return path


def add_parsers(verbs: Any) -> None:
    login = verbs.add_parser("login", help="sign in to a running hub")
    login.add_argument("url", help="the hub's address, e.g. http://127.0.0.1:8000")
    login.add_argument("email")
    login.set_defaults(run=run_login)

    projects = verbs.add_parser("projects", help="list your projects on the hub")
    projects.set_defaults(run=_signed_in(_projects))

    upload = verbs.add_parser("upload", help="upload images to a hub project")
    upload.add_argument("project", help="project id")
    upload.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    upload.add_argument("--parallel", type=int, default=4, help="files sent at once")
    upload.set_defaults(run=_signed_in(_upload))

    jobs = verbs.add_parser("jobs", help="a hub project's queued and running jobs")
    jobs.add_argument("project", help="project id")
    jobs.set_defaults(run=_signed_in(_jobs))

    segment = verbs.add_parser("segment-remote", help="segment a hub project's images")
    segment.add_argument("project", help="project id")
    segment.add_argument("--model", default=None, help="default: the project's model")
    segment.add_argument("--wait", action="store_true", help="wait until the job finishes")
    segment.set_defaults(run=_signed_in(_segment))

    export = verbs.add_parser("export", help="export a hub project as a ZIP")
    export.add_argument("project", help="project id")
    export.add_argument("--formats", default="coco,excel", help="comma-separated formats")
    export.add_argument("--pixel-size", type=float, default=None, help="µm per pixel")
    export.add_argument("-o", "--output", type=Path, required=True, help="ZIP file to write")
    export.set_defaults(run=_signed_in(_export))


def run_login(args: argparse.Namespace) -> int:
    password = os.environ.get("CELLHUB_PASSWORD") or getpass.getpass(f"password for {args.email}: ")
    with HubClient(args.url) as client:
        tokens = _guarded(lambda: client.login(args.email, password))
    if tokens is None:
        return 1
    path = save_credentials({"url": client.base_url, "email": args.email, **tokens})
    print(f"signed in to {client.base_url} as {args.email} (saved to {path})")
    return 0


def _signed_in(verb: Verb) -> Callable[[argparse.Namespace], int]:
    """The verb run with a client holding a fresh session from the stored credentials."""

    def run(args: argparse.Namespace) -> int:
        path = config_dir() / "credentials.json"
        if not path.exists():
            print("cellhub: not signed in; run `cellhub login URL EMAIL` first", file=sys.stderr)
            return 1
        stored = json.loads(path.read_text())
        with HubClient(stored["url"]) as client:
            tokens = _guarded(lambda: client.refresh(stored["refresh_token"]))
            if tokens is None:
                return 1
            save_credentials({**stored, **tokens})
            outcome = _guarded(lambda: verb(client, args))
        return 1 if outcome is None else outcome

    return run


def _guarded(call: Callable[[], T]) -> T | None:
    """``call()``, or None after printing why the hub refused it."""
    try:
        return call()
    except (CellhubError, HubError) as exc:
        print(f"cellhub: error: {exc}", file=sys.stderr)
    except (httpx.HTTPError, TimeoutError) as exc:
        print(f"cellhub: cannot reach the hub: {exc}", file=sys.stderr)
    return None


def _projects(client: HubClient, _args: argparse.Namespace) -> int:
    for project in client.projects():
        print(f"{project['id']}  {project['role']:<6}  {project['name']}")
    return 0


def _upload(client: HubClient, args: argparse.Namespace) -> int:
    with tqdm(total=len(args.paths), unit="file", file=sys.stderr) as bar:
        report = client.upload(
            args.project,
            args.paths,
            parallel=args.parallel,
            on_progress=lambda _path, _outcome: bar.update(1),
        )
    print(
        f"{len(report.uploaded)} uploaded, {len(report.skipped)} already there, "
        f"{len(report.failed)} failed"
    )
    for name, reason in report.failed:
        print(f"  failed: {name}: {reason}")
    return 1 if report.failed else 0


def _jobs(client: HubClient, args: argparse.Namespace) -> int:
    for job in client.active_jobs(args.project):
        print(_job_line(job))
    return 0


def _segment(client: HubClient, args: argparse.Namespace) -> int:
    job = client.segment(args.project, model=args.model)
    if args.wait:
        job = client.wait_job(args.project, job["id"])
    print(_job_line(job))
    return 1 if job["counts"]["failed"] else 0


def _export(client: HubClient, args: argparse.Namespace) -> int:
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    export = client.export(args.project, formats, pixel_size_um=args.pixel_size)
    client.wait_export(args.project, export["id"])
    client.download(args.project, export["id"], args.output)
    print(f"export {export['id']} ({','.join(formats)}) written to {args.output}")
    return 0


def _job_line(job: dict[str, Any]) -> str:
    counts = job["counts"]
    return (
        f"{job['id']}  {job['state']:<9}  {job['model']}  "
        f"{counts['done']}/{counts['total']} done, {counts['failed']} failed"
    )
