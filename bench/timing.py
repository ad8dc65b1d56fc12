"""What every benchmark here shares: the median wall time of repeated calls, alone or interleaved."""

from __future__ import annotations

import statistics
import time


def median_time(fn, repeats: int) -> float:
    """Median over ``repeats`` calls of ``fn()`` of its wall time (time.perf_counter), in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_median_times(fns: list, repeats: int) -> list[float]:
    """Median wall times of several contenders, called in turn (a, b, a, b, ...) ``repeats`` times each.

    On a shared or virtual machine the speed drifts over seconds (measured here: the same Keras call 34 ms,
    then 57 ms a minute later); taking turns gives every contender the same conditions, so their ratio holds.
    """
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, own in zip(fns, times):
            start = time.perf_counter()
            fn()
            own.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]
