"""The project's models dialog: the catalogue with scores, importing a model file through a
presigned upload, the check job in the jobs panel, its report, and deleting the model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from tests.e2e import hub_seed
from tests.e2e.page_helpers import sign_in

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


class _Brightness(nn.Module):
    """Foreground where the image is bright, a boundary plane of zeros: a valid foreign net."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        foreground = torch.sigmoid((x[:, :1] - 0.5) * 20.0)
        return torch.cat([foreground, torch.zeros_like(foreground)], dim=1)


def _torchscript(path: Path) -> Path:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(_Brightness().eval()), buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_import_a_model_and_see_its_report(page: Any, hub: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    services = hub.services
    owner_id = hub_seed.verified_user(services, "models@example.org", PASSWORD)
    project_id = hub_seed.project(services, owner_id, "Own models")
    hub_seed.uploaded_png(services, project_id, "cells.png")
    sign_in(page, "models@example.org", PASSWORD)
    page.goto(f"/#/projects/{project_id}")

    page.get_by_role("button", name="Models…").click()
    models = page.get_by_role("dialog", name="Models")
    expect(models.locator('tr[data-model="classical"]')).to_have_count(1)
    expect(models.locator('tr[data-model="nuclei-unet"]')).to_contain_text("0.")

    models.get_by_role("button", name="Import…").click()
    form = page.get_by_role("dialog", name="Import a model")
    form.get_by_label("Model file").set_input_files(str(_torchscript(tmp_path / "bright.pt")))
    form.get_by_label("Format").select_option("torchscript")
    form.get_by_label("Name").fill("bright-net")
    form.get_by_role("button", name="Upload and check").click()

    report = page.get_by_role("dialog", name="Import: bright-net")
    expect(report).to_contain_text("succeeded", timeout=120_000)
    report.get_by_role("button", name="Close").click()
    row = models.locator('tr[data-model="bright-net"]')
    models.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Models…").click()
    expect(row).to_contain_text("imported")

    row.get_by_role("button", name="Delete model bright-net").click()
    page.get_by_role("dialog", name="Delete model bright-net?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(
        page.get_by_role("dialog", name="Models").locator('tr[data-model="bright-net"]')
    ).to_have_count(0)
