"""A crashing worker process fails only the item that crashes it; order is kept."""

from __future__ import annotations

import os

from cellhub.services.process_pool import map_in_processes


def square_or_die(value: int) -> int:
    if value == 13:
        os._exit(3)  # a native crash: the process vanishes without an exception
    return value * value


def crashed(value: int) -> int:
    return -value


def test_results_in_input_order() -> None:
    results = list(map_in_processes(square_or_die, range(10), workers=2, on_crash=crashed))
    assert results == [(v, v * v) for v in range(10)]


def test_only_the_crashing_item_fails() -> None:
    results = dict(map_in_processes(square_or_die, range(20), workers=2, on_crash=crashed))
    assert results.pop(13) == -13
    assert results == {v: v * v for v in range(20) if v != 13}


def test_two_crashing_items_in_one_window() -> None:
    items = [1, 13, 2, 13, 3, 4, 5]
    results = list(map_in_processes(square_or_die, items, workers=2, on_crash=crashed))
    assert results == [(1, 1), (13, -13), (2, 4), (13, -13), (3, 9), (4, 16), (5, 25)]
