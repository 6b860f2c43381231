"""What goes into each Lambda asset: our packages, third-party requirements, size limits.

The requirements come from ``pyproject.toml``'s ``[project].dependencies`` (same version
ranges), sorted into the shared layer, the API function, or "not on Lambda". A dependency
that is in none of these sets is an error, so a new one cannot be left out silently.

| asset | holds | third-party | layers |
|---|---|---|---|
| ``layer`` | ``cellhub`` under ``python/`` | numpy, scipy, imaging, pydantic, Powertools | |
| ``api`` | ``cellhub_api``, ``cellhub_worker`` | FastAPI, Mangum, python-multipart | ``layer`` |
| ``websocket`` | ``cellhub_api`` (its WebSocket handlers import no FastAPI) | | ``layer`` |
| ``thumbnail`` | ``cellhub_thumbnail`` | | ``layer`` |
| ``export`` | ``cellhub_export`` | | ``layer`` |

The API carries ``cellhub_worker`` for its model catalogue (``registry``: the bundled
checkpoints' JSON cards, read to list models, check a job's model name and pick a new
project's default); nothing there imports torch until a model is loaded, which the API never
does, and the weights add about 3 MB.

numpy and scipy sit in the layer the API uses, because saving an edit recomputes shape
metrics; the API imports them only when such a route runs, not at cold start.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Lambda's limit on a function's unzipped code plus all of its layers: 250 MB.
LAMBDA_UNZIPPED_LIMIT = 262_144_000

LAYER_DISTRIBUTIONS = frozenset(
    {
        "numpy", "scipy", "pillow", "tifffile", "imagecodecs", "openpyxl", "lxml",
        "pycocotools", "roifile", "pydantic", "pydantic-settings", "pyjwt", "argon2-cffi",
        "aws-lambda-powertools",
    }
)  # fmt: skip
# The Python runtime ships boto3 and botocore. Bundling them (33 MB unzipped) would put the
# export function, which needs the whole layer, over the limit.
RUNTIME_PROVIDED = frozenset({"boto3"})
API_DISTRIBUTIONS = frozenset({"fastapi", "mangum", "python-multipart"})
# The embedded server and progress bars: the Lambda runtime replaces them.
NOT_ON_LAMBDA = frozenset({"tqdm", "uvicorn", "websockets", "httptools", "uvloop"})

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True, slots=True)
class Asset:
    """One unzipped Lambda asset: ``packages`` (source folders) copied under ``prefix``,
    ``requirements`` pip-installed beside them; ``layers`` count toward its size limit."""

    name: str
    packages: tuple[Path, ...]
    requirements: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    prefix: str = ""
    handlers: tuple[str, ...] = ()

    @property
    def is_layer(self) -> bool:
        return self.prefix == "python"


def normalized(name: str) -> str:
    """PEP 503 name: ``PyJWT`` → ``pyjwt``, ``pydantic_settings`` → ``pydantic-settings``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalized(match.group(1))


def project_dependencies(root: Path) -> list[str]:
    """``[project].dependencies`` of ``root/pyproject.toml``, as written there."""
    with (root / "pyproject.toml").open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


@dataclass(frozen=True, slots=True)
class Requirements:
    """pyproject's dependencies sorted by where they come from on Lambda."""

    layer: tuple[str, ...]
    api: tuple[str, ...]
    runtime: tuple[str, ...]  # provided by the Lambda runtime; installed only to check imports


def split_requirements(dependencies: Iterable[str]) -> Requirements:
    """Sort ``dependencies``; raises ``ValueError`` for one placed nowhere."""
    placed: dict[str, list[str]] = {"layer": [], "api": [], "runtime": []}
    for requirement in dependencies:
        name = distribution_name(requirement)
        if name in LAYER_DISTRIBUTIONS:
            placed["layer"].append(requirement)
        elif name in API_DISTRIBUTIONS:
            placed["api"].append(requirement)
        elif name in RUNTIME_PROVIDED:
            placed["runtime"].append(requirement)
        elif name not in NOT_ON_LAMBDA:
            raise ValueError(
                f"dependency {name!r} is not placed in any Lambda asset; add it to "
                "LAYER_DISTRIBUTIONS, API_DISTRIBUTIONS, RUNTIME_PROVIDED or NOT_ON_LAMBDA"
            )
    return Requirements(*(tuple(placed[k]) for k in ("layer", "api", "runtime")))


def lambda_assets(requirements: Requirements, root: Path) -> list[Asset]:
    """The layer first, then the functions that use it."""
    api_package = root / "functions" / "api" / "cellhub_api"
    return [
        Asset("layer", (root / "layers" / "cellhub",), requirements.layer, prefix="python"),
        Asset(
            "api", (api_package, root / "containers" / "gpu_worker" / "cellhub_worker"),
            requirements.api, ("layer",),
            handlers=("cellhub_api.handler", "cellhub_worker.registry"),
        ),
        Asset("websocket", (api_package,), (), ("layer",),
              handlers=("cellhub_api.websocket_handlers",)),
        Asset("thumbnail", (root / "functions" / "thumbnail" / "cellhub_thumbnail",), (),
              ("layer",), handlers=("cellhub_thumbnail.handler",)),
        Asset("export", (root / "functions" / "export" / "cellhub_export",), (), ("layer",),
              handlers=("cellhub_export.handler",)),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class SizeRow:
    asset: str
    own_bytes: int
    total_bytes: int  # with its layers

    @property
    def within_limit(self) -> bool:
        return self.total_bytes <= LAMBDA_UNZIPPED_LIMIT


def folder_bytes(folder: Path) -> int:
    """Unzipped size: the bytes of every regular file under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def size_rows(assets: Iterable[Asset], own_bytes: dict[str, int]) -> list[SizeRow]:
    """Each asset's own size and its size together with its layers."""
    return [
        SizeRow(a.name, own_bytes[a.name], own_bytes[a.name] + sum(own_bytes[n] for n in a.layers))
        for a in assets
    ]
