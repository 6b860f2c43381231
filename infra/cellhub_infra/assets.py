"""Where each deployable's code comes from: the packaged folders, or the source for a synth.

``cellhub package`` writes unzipped folders under ``build/lambda/`` (``layer`` in the
``python/`` layout Lambda expects, one folder per function). A deploy must use them: they hold
the third-party packages the source folders lack. Tests and a quick ``cdk synth`` need neither
Docker nor a prior build, so they may fall back to the source folders, which synthesise the
same template shape but are not deployable (the layer lacks its dependencies).

The mode comes from the ``cellhub:lambda-assets`` context value:

``build``   the packaged folders; missing ones are an error (use this to deploy)
``source``  the source folders, always (the tests use this: hashing a 400 MB layer is slow)
``auto``    each packaged folder that exists, else its source folder (the default)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

AssetMode = Literal["build", "source", "auto"]
ASSET_MODES: tuple[AssetMode, ...] = ("build", "source", "auto")
CONTEXT_KEY = "cellhub:lambda-assets"
REPO_ROOT = Path(__file__).resolve().parents[2]

# Asset name -> its source folder, relative to the repository root.
SOURCE_FOLDERS: dict[str, str] = {
    "layer": "layers",
    "api": "functions/api",
    # The WebSocket handlers live in the API package (cellhub_api.websocket_handlers).
    "websocket": "functions/api",
    "thumbnail": "functions/thumbnail",
    "export": "functions/export",
}


class MissingAssetError(FileNotFoundError):
    """A packaged folder a ``build`` synth needs is not there: run ``cellhub package`` first."""


@dataclass(frozen=True, slots=True)
class LambdaAssets:
    """Resolves asset names (``layer``, ``api``, ...) to folders under ``repo_root``."""

    repo_root: Path = REPO_ROOT
    mode: AssetMode = "auto"

    @property
    def build_root(self) -> Path:
        return self.repo_root / "build" / "lambda"

    def path(self, name: str) -> Path:
        """The folder to deploy as asset ``name``."""
        if name not in SOURCE_FOLDERS:
            raise KeyError(f"unknown Lambda asset {name!r}; known: {sorted(SOURCE_FOLDERS)}")
        built = self.build_root / name
        if self.mode == "build" or (self.mode == "auto" and built.is_dir()):
            if not built.is_dir():
                raise MissingAssetError(f"{built} is missing; run `cellhub package` first")
            return built
        return self.repo_root / SOURCE_FOLDERS[name]

    @property
    def worker_context(self) -> Path:
        """The worker image's Docker build context: the repository root (see its Dockerfile)."""
        return self.repo_root

    @property
    def worker_dockerfile(self) -> str:
        return "containers/gpu_worker/Dockerfile"

    @property
    def web_client(self) -> Path:
        return self.repo_root / "web"


def asset_mode(value: object) -> AssetMode:
    """The context value as a mode; anything else is a ``ValueError`` naming the choices."""
    mode = "auto" if value is None else str(value)
    for known in ASSET_MODES:
        if mode == known:
            return known
    raise ValueError(f"{CONTEXT_KEY} must be one of {ASSET_MODES}, not {mode!r}")
