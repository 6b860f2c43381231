"""Suite-wide isolation: process-wide state one test sets is reset before the next runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _floats_keep_subnormals() -> Iterator[None]:
    """Undo the CPU's flush-to-zero mode after a test that ran the worker on the CPU.

    ``cellhub_worker.device.configure_cpu_threads`` sets it process-wide for inference speed;
    left on, it breaks later tests whose float generation needs subnormal numbers.
    """
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_flush_denormal(False)
