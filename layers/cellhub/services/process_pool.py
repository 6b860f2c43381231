"""Ordered, bounded parallel map over worker processes that survives a crashing worker.

A native crash (a decoder segfault, the kernel's OOM killer) takes its whole worker process
down and breaks a ``ProcessPoolExecutor`` for every task in flight. Here the pool is rebuilt
and the tasks that were in flight are re-run one at a time, so the one that really crashes
is identified and fails alone; every other item still gets its result.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_processes(
    task: Callable[[Item], Result],
    items: Iterable[Item],
    *,
    workers: int,
    on_crash: Callable[[Item], Result],
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[tuple[Item, Result]]:
    """Yield ``(item, task(item))`` in input order, at most ``2 * workers`` in flight.

    ``task`` and the items must be picklable. An item whose worker dies even when it runs
    alone yields ``on_crash(item)`` instead of a result.
    """

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, initializer=initializer, initargs=initargs)

    pool = new_pool()
    pending = iter(items)
    window: deque[tuple[Item, Future[Result]]] = deque()
    suspects: deque[Item] = deque()
    try:
        while True:
            if suspects:  # after a crash: one at a time until the culprit is found
                item = suspects.popleft()
                try:
                    yield item, pool.submit(task, item).result()
                except BrokenProcessPool:
                    pool = _replace(pool, new_pool)
                    yield item, on_crash(item)
                continue
            unsent: list[Item] = []
            try:
                for item in pending:
                    unsent = [item]
                    window.append((item, pool.submit(task, item)))
                    unsent = []
                    if len(window) >= 2 * workers:
                        break
                if not window:
                    return
                item, future = window[0]
                result = future.result()
                window.popleft()
            except BrokenProcessPool:
                # Everything in flight is suspect, in input order; the unsent item comes last.
                suspects.extend([*(queued for queued, _ in window), *unsent])
                window.clear()
                pool = _replace(pool, new_pool)
                continue
            yield item, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _replace(
    pool: ProcessPoolExecutor, new_pool: Callable[[], ProcessPoolExecutor]
) -> ProcessPoolExecutor:
    pool.shutdown(wait=True, cancel_futures=True)
    return new_pool()
