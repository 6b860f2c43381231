"""``cellhub evaluate``: score a model on an annotated folder (``images/`` + ``labels/``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser(
        "evaluate",
        help="score a model against ground-truth labels",
        description=(
            "Segment every image under DATA/images and compare it with DATA/labels: "
            "foreground IoU and Dice, AP@0.5 = TP/(TP+FP+FN), mean AP over IoU 0.5:0.95, "
            "F1, precision, recall and ms/image, per image and pooled."
        ),
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="folder with images/ and labels/")
    parser.add_argument("--model", default=None, help="model name (see `cellhub models`)")
    parser.add_argument(
        "--threshold", type=float, default=None, help="foreground threshold in (0, 1)"
    )
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--pooled-only", action="store_true", help="print only the pooled row")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cellhub.settings import get_settings
    from cellhub_worker.evaluation.runner import evaluate_folder
    from cellhub_worker.registry import default_model_for, load_segmenter

    name = args.model or get_settings().default_model or default_model_for("nuclei")
    segmenter = load_segmenter(name, device=args.device)
    evaluation = evaluate_folder(segmenter, args.data, threshold=args.threshold)
    print(evaluation.table(per_image=not args.pooled_only))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(evaluation.to_json(), indent=2) + "\n", encoding="utf-8")
    return 0
