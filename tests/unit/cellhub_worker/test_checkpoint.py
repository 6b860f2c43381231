"""The versioned checkpoint format: round trips, half-precision storage and clear failures."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from cellhub.errors import InputNotFound, InvalidParameter
from cellhub_worker.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointMeta,
    Postprocessing,
    Provenance,
    load_checkpoint,
    read_checkpoint_meta,
    rewrite_meta,
    save_checkpoint,
    sha256_of,
)


def _meta(**overrides: object) -> CheckpointMeta:
    fields: dict[str, object] = {
        "name": "nuclei-unet",
        "version": "1.2.0",
        "architecture": "unet",
        "config": {"widths": [4, 8, 16]},
        "in_channels": 1,
        "outputs": ("foreground", "boundary"),
        "classes": ("nucleus",),
        "tile_size": 256,
        "provenance": Provenance(
            data="synthetic-nuclei",
            split="seed<1000",
            commit="abc123",
            hyperparameters={"lr": 0.003, "epochs": 2},
            seed=7,
            date="2024-05-01",
        ),
        "scores": {"ap50": 0.91},
        "description": "test net",
    }
    fields.update(overrides)
    return CheckpointMeta.model_validate(fields)


def _trained_like(meta: CheckpointMeta) -> torch.nn.Module:
    torch.manual_seed(0)
    net = meta.build()
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return net


def test_round_trip_is_exact(tmp_path: Path) -> None:
    meta = _meta()
    net = _trained_like(meta)
    path = tmp_path / "model.pt"
    digest = save_checkpoint(path, net, meta)
    loaded, loaded_meta = load_checkpoint(path)
    assert loaded_meta == meta
    assert not loaded.training
    for (key, want), (_, got) in zip(
        net.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert torch.equal(want, got), key
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest() == sha256_of(path)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == CHECKPOINT_FORMAT and raw["storage"] == "float32"


def test_half_storage_halves_the_file_and_loads_as_float32(tmp_path: Path) -> None:
    meta = _meta(config={"widths": [16, 32, 64]})
    net = _trained_like(meta)
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    save_checkpoint(full, net, meta)
    save_checkpoint(half, net, meta, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    raw = torch.load(half, weights_only=True)
    assert raw["storage"] == "float16"
    assert raw["state_dict"]["head.weight"].dtype == torch.float16
    loaded, _ = load_checkpoint(half)
    x = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        assert all(p.dtype == torch.float32 for p in loaded.parameters())
        torch.testing.assert_close(loaded(x), net.eval()(x), atol=5e-3, rtol=5e-3)


def test_half_storage_keeps_values_outside_float16_range(tmp_path: Path) -> None:
    meta = _meta()
    net = _trained_like(meta)
    norm = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert norm.running_var is not None
    norm.running_var.fill_(1e6)
    save_checkpoint(tmp_path / "m.pt", net, meta, half=True)
    raw = torch.load(tmp_path / "m.pt", weights_only=True)
    stored = [v for k, v in raw["state_dict"].items() if k.endswith("running_var")]
    assert any(v.dtype == torch.float32 for v in stored)
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    assert float(next(v for k, v in loaded.state_dict().items() if "running_var" in k)[0]) == 1e6


def test_read_meta_without_building(tmp_path: Path) -> None:
    meta = _meta()
    save_checkpoint(tmp_path / "m.pt", _trained_like(meta), meta)
    assert read_checkpoint_meta(tmp_path / "m.pt") == meta


def test_rewriting_the_meta_keeps_the_weights_as_stored(tmp_path: Path) -> None:
    meta = _meta()
    source, target = tmp_path / "m.pt", tmp_path / "tuned.pt"
    save_checkpoint(source, _trained_like(meta), meta, half=True)
    tuned = meta.model_copy(
        update={"version": "1.3.0", "postprocess": Postprocessing(threshold=0.6)}
    )
    digest = rewrite_meta(source, target, tuned)
    assert digest == sha256_of(target) and read_checkpoint_meta(target) == tuned
    before, after = torch.load(source, weights_only=True), torch.load(target, weights_only=True)
    assert after["storage"] == before["storage"] == "float16"
    for key, tensor in before["state_dict"].items():
        assert torch.equal(after["state_dict"][key], tensor), key
    assert read_checkpoint_meta(source) == meta
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidParameter):
        rewrite_meta(tmp_path / "junk.pt", target, tuned)
    assert read_checkpoint_meta(target) == tuned


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputNotFound):
        load_checkpoint(tmp_path / "absent.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_file_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    meta = _meta()
    path = tmp_path / "m.pt"
    save_checkpoint(path, _trained_like(meta), meta)
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint", "empty": b""}[damage]
    )
    with pytest.raises(InvalidParameter, match="corrupt"):
        load_checkpoint(path)


def test_unknown_format_version(tmp_path: Path) -> None:
    meta = _meta()
    path = tmp_path / "m.pt"
    save_checkpoint(path, _trained_like(meta), meta)
    payload = torch.load(path, weights_only=True)
    payload["format"] = "cellhub.checkpoint/2"
    torch.save(payload, path)
    with pytest.raises(InvalidParameter, match="unsupported version") as caught:
        load_checkpoint(path)
    assert caught.value.details["format"] == "cellhub.checkpoint/2"


def test_plain_state_dict_is_not_a_checkpoint(tmp_path: Path) -> None:
    torch.save(_trained_like(_meta()).state_dict(), tmp_path / "sd.pt")
    with pytest.raises(InvalidParameter, match="not a cellhub checkpoint"):
        load_checkpoint(tmp_path / "sd.pt")


def test_weights_that_do_not_fit_the_architecture(tmp_path: Path) -> None:
    meta = _meta()
    path = tmp_path / "m.pt"
    save_checkpoint(path, _trained_like(meta), meta)
    payload = torch.load(path, weights_only=True)
    payload["config"] = {"widths": [8, 16, 32]}
    torch.save(payload, path)
    with pytest.raises(InvalidParameter, match="do not fit"):
        load_checkpoint(path)


def test_invalid_metadata(tmp_path: Path) -> None:
    meta = _meta()
    path = tmp_path / "m.pt"
    save_checkpoint(path, _trained_like(meta), meta)
    payload = torch.load(path, weights_only=True)
    payload["in_channels"] = 0
    torch.save(payload, path)
    with pytest.raises(InvalidParameter, match="invalid metadata"):
        load_checkpoint(path)


def test_meta_rejects_channel_counts_in_config() -> None:
    with pytest.raises(ValueError, match="must not repeat"):
        _meta(config={"widths": [4, 8], "in_channels": 3})
