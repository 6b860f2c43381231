"""``cellhub package``: builds the Lambda assets (unzipped folders) without Docker.

Third-party code comes from manylinux wheels for the Lambda runtime's Python, whatever this
machine runs: ``pip install --platform manylinux2014_x86_64 --only-binary=:all:
--python-version 3.12 --implementation cp --target <dir>``. Wheels are kept in a wheelhouse
(``build/wheelhouse``) and installs read only from it, so a second build is offline and
fast; pip downloads into it only what is missing (``--refresh`` downloads again).

Each function is installed against the layer's exact versions (a constraints file) and keeps
only what the layer lacks; ``packaging_slim`` then shrinks what pip installed. The report
gives every asset's unzipped size alone and with its layers; the command exits 1 when any
function is over Lambda's 250 MB, or when ``--runtime-python PYTHON`` (an interpreter of the
runtime's version) cannot import a handler from the built folders; that option also ships
bytecode for what the handlers import (``packaging_runtime``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cellhub_local.packaging_plan import (
    LAMBDA_UNZIPPED_LIMIT,
    Asset,
    SizeRow,
    folder_bytes,
    lambda_assets,
    normalized,
    project_dependencies,
    size_rows,
    split_requirements,
)
from cellhub_local.packaging_runtime import import_and_compile
from cellhub_local.packaging_slim import slim

# Runs one command; returns its exit status. ``quiet`` hides the output of an attempt that
# is allowed to fail.
Runner = Callable[[Sequence[str], bool], int]
DEFAULT_PLATFORMS = ("manylinux2014_x86_64",)
_MIB = 1 << 20


def add_parser(verbs: Any) -> None:
    parser = verbs.add_parser("package", help="build the Lambda layer and function folders")
    parser.add_argument("--out", type=Path, default=Path("build/lambda"), help="output folder")
    parser.add_argument("--python-version", default="3.12", help="the Lambda runtime's Python")
    parser.add_argument(
        "--platform", action="append", dest="platforms",
        help=f"wheel platform tag, repeatable (default {DEFAULT_PLATFORMS[0]})",
    )  # fmt: skip
    parser.add_argument("--wheelhouse", type=Path, default=Path("build/wheelhouse"))
    parser.add_argument("--root", type=Path, default=Path(), help="the repository root")
    parser.add_argument("--refresh", action="store_true", help="download wheels again")
    parser.add_argument(
        "--runtime-python", metavar="PYTHON",
        help="a Python of the runtime's version: import every handler from the built "
        "folders and ship bytecode for what they load",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    builder = AssetBuilder(
        wheelhouse=args.wheelhouse,
        python_version=args.python_version,
        platforms=tuple(args.platforms or DEFAULT_PLATFORMS),
        refresh=args.refresh,
        runner=subprocess_runner,
    )
    requirements = split_requirements(project_dependencies(args.root))
    assets = lambda_assets(requirements, args.root.resolve())
    build_all(assets, args.out, builder)
    imports_ok = True
    if args.runtime_python:
        # What the runtime provides (boto3), only so the handlers import here; never shipped.
        runtime = args.out / ".runtime"
        pins = write_constraints([args.out / "layer" / "python"], args.out / ".runtime-pins.txt")
        builder.install(requirements.runtime, runtime, pins)
        imports_ok = import_and_compile(assets, args.out, runtime, args.runtime_python)
    rows = measure_sizes(assets, args.out)
    print_report(rows)
    return 0 if imports_ok and all(r.within_limit for r in rows) else 1


def subprocess_runner(command: Sequence[str], quiet: bool) -> int:
    output = subprocess.DEVNULL if quiet else None
    return subprocess.run(list(command), check=False, stdout=output, stderr=output).returncode


class AssetBuilder:
    """pip for the Lambda platform, reading wheels from (and filling) a wheelhouse."""

    def __init__(
        self,
        *,
        wheelhouse: Path,
        python_version: str = "3.12",
        platforms: tuple[str, ...] = DEFAULT_PLATFORMS,
        refresh: bool = False,
        runner: Runner = subprocess_runner,
    ) -> None:
        self.wheelhouse = wheelhouse
        self.python_version = python_version
        self.platforms = platforms
        self.refresh = refresh
        self.runner = runner

    def _target_flags(self) -> list[str]:
        flags = [f"--platform={p}" for p in self.platforms]
        return [*flags, "--only-binary=:all:", f"--python-version={self.python_version}",
                "--implementation=cp"]  # fmt: skip

    def install(self, requirements: Sequence[str], target: Path, constraints: Path | None) -> None:
        """Install ``requirements`` (and their dependencies) into ``target``."""
        if not requirements:
            return
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        extra = ["--constraint", str(constraints)] if constraints is not None else []
        offline = [
            *pip, "install", "--no-index", f"--find-links={self.wheelhouse}",
            *self._target_flags(), f"--target={target}", "--upgrade", *extra, *requirements,
        ]  # fmt: skip
        if not self.refresh and self.runner(offline, True) == 0:
            return
        self.wheelhouse.mkdir(parents=True, exist_ok=True)
        download = [
            *pip, "download", f"--dest={self.wheelhouse}", *self._target_flags(), *extra,
            *requirements,
        ]  # fmt: skip
        if self.runner(download, False) != 0 or self.runner(offline, False) != 0:
            raise RuntimeError(f"pip could not install {', '.join(requirements)} for Lambda")


def build_all(assets: Sequence[Asset], out: Path, builder: AssetBuilder) -> None:
    """Build every asset under ``out/<name>``; layers must precede the functions using them."""
    built: dict[str, Path] = {}
    for asset in assets:
        folder = out / asset.name
        if folder.exists():
            shutil.rmtree(folder)
        root = folder / asset.prefix if asset.prefix else folder
        root.mkdir(parents=True)
        layer_roots = [built[name] for name in asset.layers]
        constraints = write_constraints(layer_roots, out / f".{asset.name}-constraints.txt")
        builder.install(asset.requirements, root, constraints)
        drop_provided(root, layer_roots)
        slim(root)
        for package in asset.packages:
            shutil.copytree(
                package, root / package.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        built[asset.name] = root


def measure_sizes(assets: Sequence[Asset], out: Path) -> list[SizeRow]:
    """Every asset's unzipped size, alone and with its layers; also written to sizes.json."""
    rows = size_rows(assets, {a.name: folder_bytes(out / a.name) for a in assets})
    (out / "sizes.json").write_text(
        json.dumps({r.asset: {"bytes": r.own_bytes, "with_layers": r.total_bytes} for r in rows})
    )
    return rows


def installed_versions(site: Path) -> dict[str, str]:
    """``{normalized name: version}`` of the distributions pip installed into ``site``."""
    versions = {}
    for info in site.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        versions[normalized(name)] = version
    return versions


def write_constraints(layer_roots: Sequence[Path], path: Path) -> Path | None:
    """Pins to the layers' versions, so a function never brings a second, different copy."""
    pins = {n: v for root in layer_roots for n, v in installed_versions(root).items()}
    if not pins:
        return None
    path.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    return path


def drop_provided(root: Path, layer_roots: Sequence[Path]) -> None:
    """Remove what a layer already provides, and pip's console scripts (no use on Lambda)."""
    provided = {entry.name for layer in layer_roots for entry in layer.iterdir()}
    for entry in list(root.iterdir()):
        if entry.name in provided or entry.name == "bin":
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def print_report(rows: Sequence[SizeRow]) -> None:
    limit = LAMBDA_UNZIPPED_LIMIT / _MIB
    print(f"| asset | unzipped MiB | with layers MiB | limit {limit:.0f} MiB |")
    print("|---|---|---|---|")
    for row in rows:
        verdict = "ok" if row.within_limit else "OVER"
        print(f"| {row.asset} | {row.own_bytes / _MIB:.1f} | {row.total_bytes / _MIB:.1f} "
              f"| {verdict} |")  # fmt: skip
    for row in rows:
        if not row.within_limit:
            print(f"cellhub: error: {row.asset} is {row.total_bytes / _MIB:.1f} MiB unzipped "
                  f"with its layers, over Lambda's {limit:.0f} MiB", file=sys.stderr)  # fmt: skip
