"""Peak memory of work done in a child process, so one benchmark's peak never hides another's."""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from queue import Empty
from typing import Any


def _child(target: Callable[..., Any], args: tuple, queue: mp.Queue) -> None:
    started = time.perf_counter()
    result = target(*args)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((result, seconds, peak_kib / 1024))


def run_measured(target: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """Run `target(*args)` in a fresh process; return (result, wall seconds, peak RSS in MiB)."""
    context = mp.get_context("spawn")
    queue: mp.Queue = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    while True:  # a child that dies before answering must not leave the parent waiting forever
        try:
            result = queue.get(timeout=1.0)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"benchmark child {target.__name__} died with exit code {process.exitcode} "
                    "before reporting (its traceback is above)"
                ) from None
    process.join()
    return result
