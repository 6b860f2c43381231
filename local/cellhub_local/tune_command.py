"""``cellhub tune``: choose a checkpoint's post-processing on annotated folders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cellhub_worker.checkpoint import CheckpointMeta, Postprocessing


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser(
        "tune",
        help="choose a checkpoint's post-processing on annotated data",
        description=(
            "Run CHECKPOINT's net once over every image of the --data folders (images/ + "
            "labels/), then try each combination of foreground cut, seed cut and relative "
            "area floor on the cached probabilities; print the best settings by pooled "
            "AP@0.5 and, with --output, write the checkpoint with the best one. Tune on "
            "training or validation data, never on the split that scores the model card."
        ),
    )
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="checkpoint (.pt)")
    parser.add_argument(
        "--data", type=Path, action="append", required=True, help="annotated folder (repeat)"
    )
    parser.add_argument("--output", "-o", type=Path, default=None, help="write the tuned copy")
    parser.add_argument("--version", default=None, help="version of the tuned copy")
    parser.add_argument("--thresholds", default=None, help="foreground cuts, comma-separated")
    parser.add_argument("--seed-thresholds", default=None, help="seed cuts, comma-separated")
    parser.add_argument(
        "--relative-areas", default=None, help="area floors (fraction of median), comma-separated"
    )
    parser.add_argument(
        "--score-on", type=Path, default=None, help="score the tuned copy here and write its card"
    )
    parser.add_argument("--show", type=int, default=10, help="rows of the table to print")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cellhub_worker.evaluation import tuning
    from cellhub_worker.learned import LearnedSegmenter

    segmenter = LearnedSegmenter(args.checkpoint, device=args.device)
    settings = tuning.grid(
        _floats(args.thresholds, tuning.THRESHOLDS),
        _floats(args.seed_thresholds, tuning.SEED_THRESHOLDS),
        _floats(args.relative_areas, tuning.RELATIVE_AREAS),
        base=segmenter.meta.postprocess,
    )
    predicted = tuning.predict_folders(segmenter, args.data)
    trials = tuning.search(predicted, settings)
    current = tuning.score(predicted, segmenter.meta.postprocess)
    print(f"{len(predicted)} images, {len(settings)} settings")
    print(tuning.HEADER)
    for trial in trials[: args.show]:
        print(trial.row())
    print(f"current: ap50 {current['ap50']:.4f} map {current['map']:.4f}")
    best = trials[0]
    if args.output is not None:
        _write_tuned(args, segmenter.meta, best.setting)
    return 0


def _write_tuned(args: argparse.Namespace, meta: CheckpointMeta, setting: Postprocessing) -> None:
    """The copy with ``setting``; scores measured under the old setting are dropped."""
    from cellhub_worker.checkpoint import rewrite_meta
    from cellhub_worker.registry import write_model_card
    from cellhub_worker.training.publish import score_checkpoint

    provenance = meta.provenance.model_dump()
    provenance.pop("scored_on", None)
    provenance["postprocess_chosen_on"] = " + ".join(str(d) for d in args.data)
    update: dict[str, Any] = {
        "postprocess": setting,
        "provenance": meta.provenance.model_validate(provenance),
        "scores": {},
        "speed_notes": "",
    }
    if args.version is not None:
        update["version"] = args.version
    digest = rewrite_meta(args.checkpoint, args.output, meta.model_copy(update=update))
    if args.score_on is not None:
        scores, digest = score_checkpoint(args.output, args.score_on)
        print(" ".join(f"{k}={v}" for k, v in scores.items()))
        print(f"model card {write_model_card(args.output)}")
    print(f"wrote {args.output} sha256 {digest}")


def _floats(text: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    if text is None:
        return default
    return tuple(float(part) for part in text.split(",") if part.strip())
