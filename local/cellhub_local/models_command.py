"""``cellhub models``: list the segmentation models this installation can run.

Its sub-verbs (``list``, ``import``, ``report``) are about a hub project's own models and
live in ``model_commands``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser("models", help="list available segmentation models")
    parser.add_argument("--json", action="store_true", help="print the model cards as JSON")
    parser.set_defaults(run=run)
    from cellhub_local.model_commands import add_model_verbs

    add_model_verbs(parser)


def run(args: argparse.Namespace) -> int:
    from cellhub_worker.registry import list_models

    cards = list_models()
    if args.json:
        print(json.dumps([c.model_dump() for c in cards], indent=2, default=str))
        return 0
    for card in cards:
        print(f"{card.name:<24} {card.version:<10} {card.architecture:<14} {card.description}")
    return 0
