r"""One prepared check of a GPU machine: the search step's speed and placement.

  bash bench/gpu_check.sh            # on the GPU machine, as is
  bash bench/gpu_check.sh --dry_run  # anywhere (CPU): tiny models, same code

Prints JSON lines, one per measurement, each with a ``kind``:

* ``device``: the device (name, compute capability, memory), TensorFlow,
  CUDA and cuDNN versions, and the host (``slt_tf.runtime.describe``).
* ``step``: GFMN-64, SNGAN-64 and BigGAN-64 at batch 64 (the paper's widths,
  VGG19-BN features with random weights and statistics: speed does not
  depend on them) in float32 (TF32 on Ampere and later) and bfloat16, with
  and without XLA: median step time, the step's FLOPs (TensorFlow's profiler
  count of the traced graph), the rate reached and its fraction of the
  device's dense peak for that precision (``gpu_peaks.py``; null for an
  unknown device), and ``host_only_ops``: the traced step's ops without a
  GPU kernel (``slt_tf.devices``), which must be empty.
* ``selection``: the mask's threshold by each selection method on 2.1M
  scores (BigGAN's largest tensor) on the device, median milliseconds.
* ``mirrored_step``: with two GPUs or more, SNGAN-64's step under
  MirroredStrategy over two of them.

A measurement that fails prints its line with ``error`` (one line) and the
check goes on; measurements that would pass ``--budget_s`` are printed as
``skipped`` (not in the dry run). Under 8 minutes on one H100 (the budget
keeps it there).
``--dry_run`` runs every path on tiny models (width 4, 32 px, batch 8,
digits-classifier features, one timed step), on two logical CPU devices for
the mirrored step.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import dataclasses
import gc
import json
import tempfile
import time

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf

from slt_tf import config_flags
from slt_tf import devices
from slt_tf.ticket import masking
import gpu_peaks
import search_step
import timing

_DRY_RUN = flags.DEFINE_bool(
    "dry_run", False, "Tiny models on whatever devices there are (proves "
    "the script runs; its figures mean nothing).")
_ARCHS = flags.DEFINE_list("archs", ["gfmn", "sngan", "biggan"],
                           "Generators measured.")
_TIMED = flags.DEFINE_integer("timed_steps", 10, "Timed steps per run.")
_BUDGET_S = flags.DEFINE_integer(
    "budget_s", 420, "Seconds after which the remaining runs are skipped.")

_SELECTION_SIZE = 2_097_152


def emit(kind: str, **fields) -> None:
  print(json.dumps({"kind": kind, **fields}), flush=True)


def device_info() -> dict:
  gpus = tf.config.list_physical_devices("GPU")
  details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
  build = tf.sysconfig.get_build_info()
  memory = None
  if gpus:
    try:
      memory = round(tf.config.experimental.get_memory_info("GPU:0")
                     .get("peak", 0) / 2**30, 2)
    except (ValueError, tf.errors.OpError):
      pass
  return dict(device=details.get("device_name", "CPU"), gpus=len(gpus),
              compute_capability=details.get("compute_capability"),
              memory_peak_gib_at_start=memory,
              cuda=build.get("cuda_version"), cudnn=build.get("cudnn_version"),
              **timing.machine())


def base_config():
  """The paper's 64 px setting (or the dry run's tiny one) from the flags."""
  config = config_flags.config(workdir="unused")
  if _DRY_RUN.value:
    return config.replace(resolution=32, width=4, batch_size=8,
                               features="classifier", channels=3)
  return config.replace(resolution=64, width=None, batch_size=64,
                             features="vgg19_bn", channels=3)


_FLOPS = {}  # Per architecture: the profiler counts ops, whatever their dtype.


def measure_step(config, device_name: str, kind: str = "step") -> None:
  fields = dict(arch=config.model.arch, resolution=config.model.resolution,
                batch_size=config.optim.batch_size, precision=config.runtime.precision,
                jit_compile=config.runtime.jit_compile,
                replicas=config.runtime.cpu_replicas if _DRY_RUN.value else None)
  try:
    with tempfile.TemporaryDirectory() as workdir:
      config, state, step, build_s = search_step.build_step(workdir, config)
      graph = step.traced().graph
      host_only = devices.ops_without_kernel(graph, "GPU")
      if config.model.arch not in _FLOPS:
        _FLOPS[config.model.arch] = timing.graph_flops(step.compiled, step.batch())
      flops = _FLOPS[config.model.arch]
      run = lambda: float(step()["loss"])  # float(): wait for the step.
      timed = 1 if _DRY_RUN.value else _TIMED.value
      seconds = timing.median_seconds(run, timed, warmup=1 if _DRY_RUN.value
                                      else 2)
      tflops = flops / seconds / 1e12
      peak = gpu_peaks.peak_tflops(device_name, config.runtime.precision)
      emit(kind, **fields, build_s=round(build_s, 1),
           median_step_s=round(seconds, 5), steps_per_s=round(1 / seconds, 2),
           gflop_per_step=round(flops / 1e9, 1),
           achieved_tflop_per_s=round(tflops, 2), peak_tflop_per_s=peak,
           fraction_of_peak=round(tflops / peak, 4) if peak else None,
           host_only_ops=host_only)
  except Exception as e:  # pylint: disable=broad-except
    first = (str(e).strip().splitlines() or [""])[0][:300]
    emit(kind, **fields, error=f"{type(e).__name__}: {first}")
  finally:
    keras.backend.clear_session()
    gc.collect()


def measure_selection() -> None:
  n = 65_536 if _DRY_RUN.value else _SELECTION_SIZE
  scores = tf.abs(tf.random.stateless_normal([n], seed=[0, 1]))
  k = masking.kept_count(n, 0.1)
  expected = None
  for method in ("bisection", "nth_element", "sampled"):
    for jit in (False, True) if method == "bisection" else (False,):
      select = tf.function(lambda s, m=method: masking.kth_largest(s, k, m),
                           jit_compile=jit)
      value = float(select(scores))
      expected = value if expected is None else expected
      seconds = timing.median_seconds(lambda: float(select(scores)),
                                      3 if _DRY_RUN.value else 20, warmup=1)
      emit("selection", method=method, jit_compile=jit, n=n,
           median_ms=round(seconds * 1e3, 3), same_threshold=value == expected)


def main(argv):
  del argv
  if _DRY_RUN.value:
    # Two logical CPU devices for the mirrored path, before TensorFlow starts.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
  start = time.monotonic()
  info = device_info()
  emit("device", **info, dry_run=_DRY_RUN.value)
  base = base_config()
  # XLA last: if the budget runs out, what is skipped is the optional part.
  runs = [dict(arch=arch, precision=precision, jit_compile=jit)
          for jit in (False, True) for arch in _ARCHS.value
          for precision in ("float32", "bfloat16")]
  for run in runs:
    config = base.replace(**run)
    if not _DRY_RUN.value and time.monotonic() - start > _BUDGET_S.value:
      emit("step", **run, skipped=f"past --budget_s={_BUDGET_S.value}")
      continue
    measure_step(config, info["device"])
  measure_selection()
  if info["gpus"] >= 2 or _DRY_RUN.value:
    replicas = dict(strategy="mirrored", arch="sngan")
    if _DRY_RUN.value:
      replicas["cpu_replicas"] = 2
    config = base.replace(**replicas)
    measure_step(config, info["device"], kind="mirrored_step")
  emit("done", seconds=round(time.monotonic() - start, 1))


if __name__ == "__main__":
  app.run(main)
