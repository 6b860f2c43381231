"""How an N-D image series becomes one ``(Y, X, C)`` image, reading one page at a time.

Axis codes are tifffile's (``tifffile.TIFF.AXES_NAMES``). Each dimension gets one role:

* ``Y``/``X``: rows and columns of the output.
* ``C`` (channel) and ``S`` (sample, e.g. RGB): output channels, ``C`` major, ``S`` minor.
* ``Z`` (depth): reduced by maximum-intensity projection (NaN-ignoring for floats), with a
  warning. Cells and spheroids are segmented in 2-D; the MIP shows every object at its brightest.
* ``I`` (page sequence) and ``Q`` (unknown), i.e. equal-shape pages with no stated meaning:
  channels when there are at most ``MAX_PAGES_AS_CHANNELS`` of them (a handful of pages is
  almost always one page per stain), otherwise a z-stack (projected), with a warning either way.
* ``T`` (time) and every other axis (tile, angle, phase, lambda, ...): the first index only,
  with a warning. A segmentation is of one 2-D image; a time series is uploaded frame by frame.

Pages are read one by one and projected into a preallocated output, so memory stays at the
output plus one page however deep the stack is.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import tifffile
from numpy.typing import NDArray

Role = Literal["row", "column", "channel", "project", "first"]

MAX_PAGES_AS_CHANNELS = 8


@dataclass(frozen=True, slots=True)
class AxisPlan:
    """One role per dimension of ``shape``; ``warnings`` say what the plan discards."""

    axes: str
    shape: tuple[int, ...]
    roles: tuple[Role, ...]
    warnings: tuple[str, ...]

    @property
    def channels(self) -> int:
        return math.prod(
            n for n, role in zip(self.shape, self.roles, strict=True) if role == "channel"
        )

    def decoded_samples(self, leading: int) -> int:
        """Samples decompressed when the first ``leading`` dimensions index pages."""
        pages = math.prod(
            n
            for n, role in zip(self.shape[:leading], self.roles[:leading], strict=True)
            if role != "first"
        )
        return pages * math.prod(self.shape[leading:])

    def resized(self, dimension: int, size: int) -> AxisPlan:
        """The same plan with ``dimension`` cut to ``size`` (e.g. RGBA samples to RGB)."""
        shape = (*self.shape[:dimension], size, *self.shape[dimension + 1 :])
        return AxisPlan(axes=self.axes, shape=shape, roles=self.roles, warnings=self.warnings)


def plan_axes(axes: str, shape: Sequence[int]) -> AxisPlan:
    """Assign each dimension of an ``axes``/``shape`` series its role (see the module docstring)."""
    roles: list[Role] = []
    warnings: list[str] = []
    for axis, size in zip(axes, shape, strict=True):
        role = _role(axis, size)
        roles.append(role)
        if size > 1:
            warnings.extend(_warning(axis, size, role))
    return AxisPlan(axes=axes, shape=tuple(shape), roles=tuple(roles), warnings=tuple(warnings))


def _role(axis: str, size: int) -> Role:
    if axis == "Y":
        return "row"
    if axis == "X":
        return "column"
    if axis in "CS":
        return "channel"
    if axis == "Z":
        return "project"
    if axis in "IQ":
        return "channel" if size <= MAX_PAGES_AS_CHANNELS else "project"
    return "first"


def _warning(axis: str, size: int, role: Role) -> list[str]:
    if axis == "Z":
        return [f"z-stack of {size} planes reduced by maximum-intensity projection"]
    if axis in "IQ":
        if role == "channel":
            return [f"read {size} equal-size pages as {size} channels"]
        return [
            f"stack of {size} equal-size pages read as a z-stack and reduced by "
            "maximum-intensity projection"
        ]
    if role == "first":
        if axis == "T":
            return [f"took the first of {size} time points"]
        return [
            f"took the first of {size} along {tifffile.TIFF.AXES_NAMES.get(axis, '?')} ({axis})"
        ]
    return []


def assemble(
    plan: AxisPlan, leading: int, read_page: Callable[[int], NDArray[Any]]
) -> NDArray[Any]:
    """The ``(Y, X, C)`` image of ``plan``, reading pages through ``read_page(index)``.

    The first ``leading`` dimensions of ``plan`` index pages in C order (as a TIFF series
    stores them); ``read_page`` returns one page with the remaining dimensions. ``leading=0``
    means the whole series is one "page".
    """
    lead_shape = plan.shape[:leading]
    page_roles = plan.roles[leading:]
    channel_dims = [d for d in range(leading) if plan.roles[d] == "channel"]
    project_dims = [d for d in range(leading) if plan.roles[d] == "project"]
    page_channels = math.prod(
        n for n, role in zip(plan.shape[leading:], page_roles, strict=True) if role == "channel"
    )

    def page_number(channel_index: tuple[int, ...], project_index: tuple[int, ...]) -> int:
        position = [0] * leading
        for d, i in zip(channel_dims + project_dims, channel_index + project_index, strict=True):
            position[d] = i
        return int(np.ravel_multi_index(position, lead_shape)) if leading else 0

    channel_indices = list(itertools.product(*(range(lead_shape[d]) for d in channel_dims)))
    project_indices = list(itertools.product(*(range(lead_shape[d]) for d in project_dims)))
    if len(channel_indices) == 1 and len(project_indices) == 1:
        # One page holds the whole result (the common 2-D case): no copy into a new buffer.
        return page_to_yxc(read_page(page_number((), ())), page_roles)
    output: NDArray[Any] | None = None
    for group, channel_index in enumerate(channel_indices):
        for depth, project_index in enumerate(project_indices):
            plane = page_to_yxc(read_page(page_number(channel_index, project_index)), page_roles)
            if output is None:
                output = np.empty((*plane.shape[:2], plan.channels), dtype=plane.dtype)
            target = output[:, :, group * page_channels : (group + 1) * page_channels]
            if depth == 0:
                target[...] = plane
            else:
                np.fmax(target, plane, out=target)
    assert output is not None
    return output


def page_to_yxc(page: NDArray[Any], roles: Sequence[Role]) -> NDArray[Any]:
    """One page (dimensions with ``roles``) as ``(Y, X, C)``: first indices taken, Z projected."""
    if page.ndim != len(roles):
        raise ValueError(f"page has shape {page.shape}, expected {len(roles)} dimensions")
    page = page[tuple(0 if role == "first" else slice(None) for role in roles)]
    kept = [role for role in roles if role != "first"]
    projected = tuple(d for d, role in enumerate(kept) if role == "project")
    if projected:
        page = np.fmax.reduce(page, axis=projected)
        kept = [role for role in kept if role != "project"]
    order = [kept.index("row"), kept.index("column")]
    order += [d for d, role in enumerate(kept) if role == "channel"]
    page = page.transpose(order)
    return page.reshape(*page.shape[:2], -1)
