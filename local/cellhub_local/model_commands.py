"""The ``cellhub`` verbs about a hub project's own models.

``cellhub models list|import|report`` and ``cellhub finetune`` talk to a running hub with the
stored session, like the other client verbs; plain ``cellhub models`` still lists what this
installation can run (``models_command``). With ``--wait`` a job is followed to its report,
and the exit code says whether the model was accepted (0) or not (1).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cellhub_local.client import HubClient
from cellhub_local.client_commands import _job_line, _signed_in

# Fine-tuning on a workstation GPU can take hours; a caller that wants less passes --timeout.
_WAIT_SECONDS = 24 * 3600.0


def add_model_verbs(models: argparse.ArgumentParser) -> None:
    """``list``, ``import`` and ``report`` under ``cellhub models``."""
    verbs = models.add_subparsers(dest="models_verb", metavar="{list,import,report}")
    listing = verbs.add_parser("list", help="the models a hub project can use")
    listing.add_argument("--project", required=True, help="project id")
    listing.set_defaults(run=_signed_in(_list))

    imported = verbs.add_parser("import", help="bring your own model file into a hub project")
    imported.add_argument("file", type=Path, help="checkpoint (.pt), TorchScript or ONNX file")
    imported.add_argument("--project", required=True, help="project id")
    imported.add_argument("--name", required=True, help="the model's name in the project")
    imported.add_argument(
        "--format", required=True, choices=("checkpoint", "torchscript", "onnx"), dest="fmt"
    )
    imported.add_argument("--classes", default="", help="comma-separated object classes")
    imported.add_argument("--description", default="")
    _add_wait(imported)
    imported.set_defaults(run=_signed_in(_import))

    report = verbs.add_parser("report", help="what a fine-tuning or import job found")
    report.add_argument("job", help="job id")
    report.add_argument("--project", required=True, help="project id")
    report.set_defaults(run=_signed_in(_report))


def add_parsers(verbs: Any) -> None:
    """``cellhub finetune``."""
    finetune = verbs.add_parser("finetune", help="fine-tune a model on a hub project's images")
    finetune.add_argument("--project", required=True, help="project id")
    finetune.add_argument("--from", required=True, dest="base", help="the model to start from")
    finetune.add_argument("--name", required=True, help="the new model's name")
    finetune.add_argument("--epochs", type=int, default=None, help="default: the hub's (20)")
    finetune.add_argument("--holdout", type=float, default=None, help="held-out share of images")
    finetune.add_argument("--min-objects", type=int, default=None)
    finetune.add_argument("--seed", type=int, default=None)
    finetune.add_argument(
        "--max-images", type=int, default=None, help="most segmented images used (hub's: 400)"
    )
    _add_wait(finetune)
    finetune.set_defaults(run=_signed_in(_finetune))


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait for the job's report")
    parser.add_argument("--timeout", type=float, default=_WAIT_SECONDS, help="seconds to wait")


def _list(client: HubClient, args: argparse.Namespace) -> int:
    for model in client.project_models(args.project):
        scores = ", ".join(f"{k} {v:.3f}" for k, v in sorted(model["scores"].items()))
        print(f"{model['name']:<24} {model['scope']:<8} {model['kind']:<11} {scores}")
    return 0


def _finetune(client: HubClient, args: argparse.Namespace) -> int:
    job = client.finetune(
        args.project,
        base_model=args.base,
        name=args.name,
        epochs=args.epochs,
        holdout_fraction=args.holdout,
        min_objects=args.min_objects,
        seed=args.seed,
        max_images=args.max_images,
    )
    return _follow(client, args, job)


def _import(client: HubClient, args: argparse.Namespace) -> int:
    classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    job = client.import_model(
        args.project,
        args.file,
        name=args.name,
        model_format=args.fmt,
        classes=classes,
        description=args.description,
    )
    return _follow(client, args, job)


def _report(client: HubClient, args: argparse.Namespace) -> int:
    report = client.model_job_report(args.project, args.job)
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0 if report["accepted"] else 1


def _follow(client: HubClient, args: argparse.Namespace, job: dict[str, Any]) -> int:
    if not args.wait:
        print(_job_line(job))
        return 0
    job = client.wait_job(args.project, job["id"], timeout=args.timeout)
    print(_job_line(job))
    if job["state"] == "cancelled":
        return 1
    report = client.model_job_report(args.project, job["id"])
    verdict = "accepted" if report["accepted"] else f"not accepted: {report['reason']}"
    print(f"model {report['model']}: {verdict}")
    return 0 if report["accepted"] else 1
