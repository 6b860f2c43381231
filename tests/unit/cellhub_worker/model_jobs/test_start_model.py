"""Where a fine-tuning starts: a project checkpoint, else a bundled one; never classical."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellhub.errors import InvalidParameter, UnknownModel
from cellhub_worker.checkpoint import sha256_of
from cellhub_worker.model_jobs.start_model import start_checkpoint
from tests.unit.cellhub_worker.model_jobs.project_world import ProjectWorld, tiny_checkpoint


def test_a_bundled_model_starts_from_its_own_file(world: ProjectWorld, tmp_path: Path) -> None:
    path, digest = start_checkpoint(world.store, world.project.id, "nuclei-unet", tmp_path)
    assert path.name == "nuclei-unet.pt" and digest == sha256_of(path)


def test_a_project_model_is_copied_out_after_its_checksum(
    world: ProjectWorld, tmp_path: Path
) -> None:
    net, meta = tiny_checkpoint()
    world.register_checkpoint("nuclei-unet", net, meta)  # shadows the global name here
    path, digest = start_checkpoint(world.store, world.project.id, "nuclei-unet", tmp_path)
    assert path.parent == tmp_path and digest == sha256_of(path)


def test_classical_and_unknown_models_cannot_start(world: ProjectWorld, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="no weights"):
        start_checkpoint(world.store, world.project.id, "classical", tmp_path)
    with pytest.raises(UnknownModel):
        start_checkpoint(world.store, world.project.id, "no-such-model", tmp_path)
