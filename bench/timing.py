"""Timing shared by the benchmark scripts (run as ``python bench/<script>.py``)."""

import statistics
import time

from slt_tf import runtime


def machine() -> dict:
  """What every benchmark figure names: CPU model, ISA level, cores,
  TensorFlow version, oneDNN on or off (``slt_tf.runtime.describe``)."""
  return dict(runtime.describe())


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


def graph_flops(function, *args) -> int:
  """Floating-point operations of one call of a ``tf.function`` on ``args``,
  as TensorFlow's profiler counts them from the traced graph: 2 per
  multiply-add of convolutions and matrix products, forward and backward; ops
  without a registered count (e.g. the mask's threshold search) add 0."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph = function.get_concrete_function(*args).graph
  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options["output"] = "none"
  return int(tf.compat.v1.profiler.profile(graph=graph,
                                           options=options).total_float_ops)
