r"""This machine's convolution and matmul roofline at the layer shapes of a step.

  python bench/roofline.py --arch=sngan --resolution=32 --width=128 \
      [--features=classifier] [--repeats=5]

Every convolution and matrix product of the traced search step (forward,
input gradient and filter gradient; the shapes and attributes exactly as in the
step's graph) is run alone, on random inputs, as a one-op ``tf.function``, and
timed (median of ``--repeats``, after a warm-up, minus the cost of calling an
empty function). The sum over the step's ops of those times is the
*roofline time*: what the step would cost if it did nothing but its
convolutions and products, each at the speed this machine's kernels reach at
that shape. ``step_time.py`` reports ``roofline_fraction``, roofline time over
the step's median time: 1.0 means the step costs no more than its kernels.

Prints one JSON line: the roofline time, the step's kernel FLOPs, and per kind
of kernel (forward, input gradient, filter gradient, matmul) its share, time
and achieved GFLOP/s, with the machine (``slt_tf.runtime.describe``).
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import collections
import dataclasses
import json
import tempfile
import time
from typing import Dict, List, Tuple

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

import timing

# The op types the roofline counts, and their kind in the report.
KINDS = {"Conv2D": "conv_forward", "Conv2DBackpropInput": "conv_input_grad",
         "Conv2DBackpropFilter": "conv_filter_grad", "MatMul": "matmul",
         "BatchMatMulV2": "matmul", "DepthwiseConv2dNative": "conv_forward"}
_ATTRS = {"Conv2D": ("strides", "padding", "explicit_paddings",
                     "data_format", "dilations"),
          "DepthwiseConv2dNative": ("strides", "padding", "explicit_paddings",
                                    "data_format", "dilations"),
          "MatMul": ("transpose_a", "transpose_b"),
          "BatchMatMulV2": ("adj_x", "adj_y")}
_ATTRS["Conv2DBackpropInput"] = _ATTRS["Conv2DBackpropFilter"] = (
    _ATTRS["Conv2D"])
# Inputs that are shapes (int32 vectors), not data: (op type, position).
_SHAPE_INPUTS = {("Conv2DBackpropInput", 0), ("Conv2DBackpropFilter", 1)}


@dataclasses.dataclass(frozen=True)
class Kernel:
  """One convolution or product of a graph, as it can be run alone."""
  op_type: str
  inputs: Tuple[Tuple[int, ...], ...]  # Data inputs' shapes; shape inputs' values.
  attrs: Tuple[Tuple[str, object], ...]

  @property
  def kind(self) -> str:
    return KINDS[self.op_type]


def _attr(op, name):
  value = op.get_attr(name)
  if isinstance(value, list):
    return tuple(value)
  return value.decode() if isinstance(value, bytes) else value


def graph_kernels(function) -> Dict[Kernel, int]:
  """The convolutions and products of a ``tf.function`` without inputs, or of
  a concrete function, counted.

  Raises:
    ValueError: a kernel whose shapes are not static (a roofline needs them).
  """
  if hasattr(function, "get_concrete_function"):
    function = function.get_concrete_function()
  graph = function.graph
  found = collections.Counter()
  for op in graph.get_operations():
    if op.type not in KINDS:
      continue
    inputs = []
    for i, tensor in enumerate(op.inputs):
      if (op.type, i) in _SHAPE_INPUTS:
        # The gradient's output has the shape this input names (often
        # computed by a Shape op, so not a constant of the graph).
        shape = op.outputs[0].shape
        if not shape.is_fully_defined():
          raise ValueError(f"{op.name}: output shape {shape} is not static")
        inputs.append(("shape",) + tuple(shape.as_list()))
      else:
        if not tensor.shape.is_fully_defined():
          raise ValueError(f"{op.name}: input {i} has shape {tensor.shape}")
        inputs.append(tuple(tensor.shape.as_list()))
    attrs = tuple((a, _attr(op, a)) for a in _ATTRS[op.type])
    found[Kernel(op.type, tuple(inputs), attrs)] += 1
  return dict(found)


def _standalone(kernel: Kernel):
  """(one-op tf.function, its random data inputs)."""
  rng = np.random.default_rng(0)
  data, spec = [], []
  for shape in kernel.inputs:
    if shape and shape[0] == "shape":
      continue
    data.append(tf.constant(rng.standard_normal(shape, dtype=np.float32)))
    spec.append(tf.TensorSpec(shape, tf.float32))
  attrs = dict(kernel.attrs)
  op = getattr(tf.raw_ops, kernel.op_type)

  @tf.function(input_signature=spec)
  def run(*args):
    args = list(args)
    if kernel.op_type == "Conv2DBackpropInput":
      return op(input_sizes=tf.constant(kernel.inputs[0][1:]),
                filter=args[0], out_backprop=args[1], **attrs)
    if kernel.op_type == "Conv2DBackpropFilter":
      return op(input=args[0], filter_sizes=tf.constant(kernel.inputs[1][1:]),
                out_backprop=args[1], **attrs)
    if kernel.op_type in ("Conv2D", "DepthwiseConv2dNative"):
      return op(input=args[0], filter=args[1], **attrs)
    if kernel.op_type == "MatMul":
      return op(a=args[0], b=args[1], **attrs)
    return op(x=args[0], y=args[1], **attrs)

  return run, data


def _call_overhead(repeats: int) -> float:
  """Median seconds of calling a one-op function that does next to nothing."""
  x = tf.zeros([1])
  fn = tf.function(tf.identity)
  return timing.median_seconds(lambda: fn(x), max(repeats, 20), warmup=3)


def measure(kernels: Dict[Kernel, int], repeats: int = 5) -> List[dict]:
  """Times each kernel alone: one dict per kernel with its count, FLOPs
  (TensorFlow's profiler count, as ``timing.graph_flops``) and seconds."""
  overhead = _call_overhead(repeats)
  rows = []
  for kernel, count in kernels.items():
    run, data = _standalone(kernel)
    flops = timing.graph_flops(run, *data)
    seconds = timing.median_seconds(lambda: run(*data), repeats, warmup=1)
    rows.append({"kernel": kernel, "count": count, "flops": flops,
                 "seconds": max(seconds - overhead, 1e-7)})
  return rows


def roofline(function, repeats: int = 5) -> dict:
  """The roofline of a step: its kernels timed alone, summed (module doc)."""
  rows = measure(graph_kernels(function), repeats)
  by_kind = collections.defaultdict(lambda: {"seconds": 0.0, "flops": 0})
  for r in rows:
    by_kind[r["kernel"].kind]["seconds"] += r["count"] * r["seconds"]
    by_kind[r["kernel"].kind]["flops"] += r["count"] * r["flops"]
  total_s = sum(v["seconds"] for v in by_kind.values())
  total_flops = sum(v["flops"] for v in by_kind.values())
  slowest = sorted(rows, key=lambda r: -r["count"] * r["seconds"])[:5]
  return {
      "roofline_s": round(total_s, 4),
      "kernel_gflop": round(total_flops / 1e9, 2),
      "kernel_gflop_per_s": round(total_flops / 1e9 / max(total_s, 1e-9), 1),
      "kernels": sum(r["count"] for r in rows),
      "distinct_kernels": len(rows),
      "by_kind": {k: {"share_of_time": round(v["seconds"] / total_s, 3),
                      "seconds": round(v["seconds"], 4),
                      "gflop_per_s": round(v["flops"] / 1e9
                                           / max(v["seconds"], 1e-9), 1)}
                  for k, v in sorted(by_kind.items())},
      "slowest": [{"op": r["kernel"].op_type,
                   "shapes": [list(s) for s in r["kernel"].inputs],
                   "count": r["count"],
                   "ms_each": round(r["seconds"] * 1e3, 3),
                   "gflop_per_s": round(r["flops"] / 1e9 / r["seconds"], 1)}
                  for r in slowest],
  }


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as workdir:
    config, _, step, _ = search_step.build_step(workdir)
    start = time.perf_counter()
    report = roofline(step.traced(), _REPEATS.value)
    print(json.dumps({
        "bench": "roofline", "arch": config.model.arch,
        "resolution": config.model.resolution, "width": config.model.width,
        "batch_size": config.optim.batch_size, "features": config.features.extractor,
        "mode": config.ticket.mode, **report,
        "measure_s": round(time.perf_counter() - start, 1),
        **timing.machine()}))


if __name__ == "__main__":
  # Here, not at the top: importers of the library functions (step_time.py,
  # the tests) get neither the step's flags nor this one.
  import search_step  # pylint: disable=g-import-not-at-top
  _REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per kernel.")
  app.run(main)
