"""``cellhub train``: train a net on annotated folders or synthetic images, save a checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ARCHITECTURES = ("unet", "cbam_resunet", "hrnet")


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser(
        "train",
        help="train a segmentation net and write a checkpoint",
        description=(
            "Train a net on annotated folders (images/ + labels/) or synthetic images and "
            "write a checkpoint with its provenance; optionally score it on a held-out folder "
            "and write its model card beside it."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, action="append", help="annotated folder (repeat)")
    source.add_argument("--synthetic", choices=("nuclei", "spheroids"), help="generated data")
    parser.add_argument("--synthetic-images", type=int, default=48, help="generated images")
    parser.add_argument("--output", "-o", type=Path, required=True, help="checkpoint (.pt)")
    parser.add_argument("--name", required=True, help="model name in the registry")
    parser.add_argument("--version", default="1")
    parser.add_argument("--description", default="")
    parser.add_argument("--classes", default="object", help="comma-separated class names")
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="unet")
    parser.add_argument("--widths", default="16,32,64,128", help="channels per level")
    parser.add_argument(
        "--net-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra net argument, VALUE as JSON (e.g. stem_stride=2)",
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scale", default=None, metavar="LOW,HIGH", help="zoom range of the crops (0.6,1.6)"
    )
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--half", action="store_true", help="store weights as float16")
    parser.add_argument(
        "--init-from", type=Path, default=None, help="checkpoint to start from (fine-tuning)"
    )
    parser.add_argument("--score-on", type=Path, default=None, help="annotated folder to score")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from cellhub_worker.checkpoint import Normalization, save_checkpoint
    from cellhub_worker.device import resolve_device
    from cellhub_worker.registry import write_model_card
    from cellhub_worker.training.data import folder_training_set, synthetic_training_set
    from cellhub_worker.training.loop import TrainConfig, train
    from cellhub_worker.training.publish import checkpoint_meta, score_checkpoint

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    normalization = Normalization()
    if args.data:
        data = folder_training_set(list(args.data), normalization)
    else:
        data = synthetic_training_set(args.synthetic, args.synthetic_images, seed=args.seed)
    config = TrainConfig(
        architecture=args.architecture,
        widths=tuple(int(w) for w in args.widths.split(",")),
        net_options=_net_options(args.net_option),
        crop=args.crop,
        batch_size=args.batch_size,
        steps=args.steps,
        learning_rate=args.learning_rate,
        seed=args.seed,
        warmup_steps=min(50, max(1, args.steps // 10)),
        max_minutes=args.max_minutes,
        augmentation=_augmentation(args.scale),
    )
    device = str(resolve_device(args.device))
    every = max(1, args.steps // 20)

    def report(step: int, loss: float) -> None:
        if step % every == 0 or step == args.steps:
            print(f"step {step:>6}/{args.steps} loss {loss:.4f}", file=sys.stderr, flush=True)

    initial = None
    if args.init_from is not None:
        from cellhub_worker.checkpoint import load_checkpoint, sha256_of

        initial, start = load_checkpoint(args.init_from)
        if start.architecture != config.architecture or start.config != config.net_config():
            raise SystemExit(f"{args.init_from} is {start.architecture} {start.config}")
        print(f"starting from {args.init_from} sha256 {sha256_of(args.init_from)}", file=sys.stderr)
    result = train(data, config, device=device, progress=report, initial=initial)
    meta = checkpoint_meta(
        name=args.name,
        version=args.version,
        config=config,
        data=data,
        result=result,
        normalization=normalization,
        classes=tuple(c for c in args.classes.split(",") if c),
        description=args.description,
    )
    if args.init_from is not None:
        from cellhub_worker.checkpoint import sha256_of

        started = {"initialised_from": f"{args.init_from.name} sha256 {sha256_of(args.init_from)}"}
        meta = meta.model_copy(update={"provenance": meta.provenance.model_copy(update=started)})
    args.output.parent.mkdir(parents=True, exist_ok=True)
    digest = save_checkpoint(args.output, result.net, meta, half=args.half)
    print(f"wrote {args.output} ({result.steps} steps, {result.seconds:.0f} s) sha256 {digest}")
    if args.score_on is not None:
        scores, digest = score_checkpoint(args.output, args.score_on)
        print(" ".join(f"{k}={v}" for k, v in scores.items()))
        print(f"model card {write_model_card(args.output)} sha256 {digest}")
    return 0


def _augmentation(scale: str | None) -> Any:
    from cellhub_worker.training.augment import Augmentation

    if scale is None:
        return Augmentation()
    try:
        low, high = (float(part) for part in scale.split(","))
    except ValueError as exc:
        raise SystemExit(f"--scale wants LOW,HIGH, got {scale!r}") from exc
    if not 0.0 < low <= high:
        raise SystemExit(f"--scale wants 0 < LOW <= HIGH, got {scale!r}")
    return Augmentation(scale=(low, high))


def _net_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options
