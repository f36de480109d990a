r"""Time of one real search step (generator, features, moment matching, Adam).

  python bench/step_time.py --arch=sngan --resolution=32 --batch_size=64 \
      --method=ticket [--steps=10] [--features=vgg19_bn|classifier] \
      [--width=128] [--feature_layers=1,2] [--noroofline] \
      [--precision=float32|bfloat16|float16] [--jit_compile]

Builds the search step (``slt_tf.search.step``) exactly as a run does
(``search_step.py``) and prints one JSON line: the median step time (warm-up
excluded), steps/s, generator size, feature width, the step's FLOPs
(TensorFlow's profiler count of the traced step) and the rate achieved, the
step's roofline (``roofline.py``: its convolutions and products timed alone
on this machine) and ``roofline_fraction`` (roofline time over step time), and
the machine (CPU model, ISA level, cores, TensorFlow version, oneDNN on/off).

The demo's setting: ``--arch=gfmn --width=32 --features=classifier``.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import json
import resource
import tempfile

from absl import app
from absl import flags
import tensorflow as tf

from slt_tf import generators
import roofline
import search_step
import timing

_ROOFLINE = flags.DEFINE_bool(
    "roofline", True, "Also time the step's kernels alone (roofline.py).")
_ROOFLINE_REPEATS = flags.DEFINE_integer("roofline_repeats", 5,
                                         "Timed calls per kernel.")


def main(argv):
  del argv
  f = flags.FLAGS
  with tempfile.TemporaryDirectory() as workdir:
    config, state, step, build_s = search_step.build_step(workdir)
    flops = timing.graph_flops(step.compiled, step.batch())
    run = lambda: float(step()["loss"])  # float(): wait for the step to end.
    seconds = timing.median_seconds(run, f.steps, warmup=f.warmup)
    report = {
        "arch": config.model.arch, "resolution": config.model.resolution,
        "width": config.model.width, "batch_size": config.optim.batch_size,
        "mode": config.ticket.mode, "method": config.method,
        "precision": config.runtime.precision, "jit_compile": config.runtime.jit_compile,
        "input": (f.input if config.method_spec.adversarial
                  else "none (moment matching)"),
        "build_s": round(build_s, 2),
        "keep_ratio": config.ticket.keep_ratio, "features": config.features.extractor,
        "median_step_s": round(seconds, 4),
        "steps_per_s": round(1 / seconds, 3),
        "params_generator": generators.prunable_parameter_count(
            state.generator)["total"],
        "feature_dim": state.extractor.feature_dim,
        "gflop_per_step": round(flops / 1e9, 1),
        "achieved_gflop_per_s": round(flops / 1e9 / seconds, 1),
        "feature_layers": list(config.features.layers) or "all",
    }
    if _ROOFLINE.value:
      line = roofline.roofline(step.traced(), _ROOFLINE_REPEATS.value)
      report.update(
          roofline_s=line["roofline_s"],
          roofline_fraction=round(line["roofline_s"] / seconds, 3),
          roofline_kernel_gflop_per_s=line["kernel_gflop_per_s"],
          roofline_by_kind=line["by_kind"])
    gpus = tf.config.list_physical_devices("GPU")
    report.update(
        # Linux reports kilobytes: the process's peak, building included.
        peak_rss_mb=round(resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        device=gpus[0].name if gpus else "CPU", **timing.machine())
    print(json.dumps(report))


if __name__ == "__main__":
  app.run(main)
