"""``cellhub models``: list the segmentation models this installation can run."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser("models", help="list available segmentation models")
    parser.add_argument("--json", action="store_true", help="print the model cards as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cellhub_worker.registry import list_models

    cards = list_models()
    if args.json:
        print(json.dumps([c.model_dump() for c in cards], indent=2, default=str))
        return 0
    for card in cards:
        print(f"{card.name:<24} {card.version:<10} {card.architecture:<14} {card.description}")
    return 0
