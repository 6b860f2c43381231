"""Fixtures of the project-model job tests: one CPU thread, a fresh local project per test."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.unit.cellhub_worker.model_jobs.project_world import ProjectWorld, make_world


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def world(tmp_path: Path) -> ProjectWorld:
    return make_world(tmp_path)
