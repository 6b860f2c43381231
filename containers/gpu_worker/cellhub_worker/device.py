"""Choosing the torch device the worker's nets run on, and sizing the CPU thread pool.

``cuda`` when a GPU is visible, else ``cpu``; an explicit choice (argument) always wins and
fails loudly when it cannot be honoured, rather than silently running a GPU job on the CPU.
On the CPU, torch's intra-op pool is sized to the cores this process may actually use:
the scheduler affinity mask, further capped by a cgroup CPU quota (ECS tasks and Docker
``--cpus`` limit the quota, not the visible core count, and oversubscribing a quota makes
every conv slower).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from cellhub.errors import InvalidParameter

_CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def resolve_device(choice: str | None = None) -> torch.device:
    """Return the device for ``choice`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).

    ``None`` picks ``cuda`` when available, else ``cpu``. A CPU device also sizes torch's
    thread pool (see :func:`configure_cpu_threads`). Raises ``InvalidParameter`` for an
    unparsable name or a CUDA device that is not present.
    """
    if choice is None:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(choice)
        except (RuntimeError, ValueError) as exc:
            raise InvalidParameter(f"unknown device {choice!r}", device=choice) from exc
    if device.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = device.index or 0
        if index >= available:
            raise InvalidParameter(
                f"device {choice or 'cuda'!r} requested but {available} CUDA device(s) visible",
                device=str(device),
            )
    elif device.type == "cpu":
        configure_cpu_threads()
    else:
        raise InvalidParameter(
            f"unsupported device type {device.type!r}; use cpu or cuda", device=str(device)
        )
    return device


def configure_cpu_threads() -> int:
    """Set torch's intra-op thread count to :func:`available_cpu_count` and return it.

    Also flushes subnormal floats to zero (process-wide): x86 handles them in microcode,
    10-100x slower, and activations that small carry nothing a segmentation can use.
    """
    torch.set_flush_denormal(True)
    count = available_cpu_count()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


def available_cpu_count() -> int:
    """Cores this process may run on: affinity mask, capped by a cgroup v2 quota; >= 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def _cgroup_quota() -> float | None:
    """CPUs granted by the cgroup v2 ``cpu.max`` file, or ``None`` when unlimited/absent."""
    try:
        fields = _CGROUP_CPU_MAX.read_text().split()
    except OSError:
        return None
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        return int(fields[0]) / int(fields[1])
    except (ValueError, ZeroDivisionError):
        return None
