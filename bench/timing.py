"""Timing shared by the benchmark scripts (run as ``python bench/<script>.py``)."""

import statistics
import time


def median_seconds(fn, repeats: int, warmup: int = 0) -> float:
  """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
  for _ in range(warmup):
    fn()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)
