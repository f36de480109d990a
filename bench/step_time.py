r"""Time of one real search step (generator, features, moment matching, Adam).

  python bench/step_time.py --arch=sngan --resolution=32 --batch_size=64 \
      --mode=ticket [--steps=10] [--features=vgg19_bn] [--feature_layers=1,2]

Builds the search step of ``slt_tf.train_lib`` exactly as a run does, with
random feature-extractor weights and random real statistics so that it needs
no dataset or weight file, and prints one JSON line: the median step time
(warm-up excluded), steps/s, generator size, feature width, the step's
FLOPs (TensorFlow's profiler count of the traced step) and the rate achieved,
device and TensorFlow version.
"""

import json
import os
import platform
import resource
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from slt_tf import generators
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf import features
from slt_tf.generators import TicketOptions
import timing

_ARCH = flags.DEFINE_string("arch", "sngan", "Generator architecture.")
_RESOLUTION = flags.DEFINE_integer("resolution", 32, "Image size.")
_WIDTH = flags.DEFINE_integer("width", None, "Width (default: the paper's).")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Global batch size.")
_MODE = flags.DEFINE_enum("mode", "ticket", ["ticket", "dense"], "What trains.")
_KEEP = flags.DEFINE_float("keep_ratio", 0.1, "Keep ratio (ticket mode).")
_FEATURES = flags.DEFINE_enum("features", "vgg19_bn", ["vgg19_bn", "vgg19"],
                              "Feature extractor (random weights).")
_FEATURE_LAYERS = flags.DEFINE_list(
    "feature_layers", [], "Match only these feature layers (1-based).")
_METHOD = flags.DEFINE_enum(
    "method", None, ["ticket", "dense", "adversarial_ticket"],
    "The search's method (default: from --mode).")
_INPUT = flags.DEFINE_enum(
    "input", "synthetic", ["synthetic", "real"], "adversarial_ticket: real "
    "batches from random uint8 images, or from the dataset held in memory "
    "as a run does (moment matching reads no real images per step).")
_DATASET = flags.DEFINE_string("dataset", "mnist_embedded",
                               "--input=real: the dataset.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "--input=real: TFDS dir.")
_D_WIDTH = flags.DEFINE_integer("d_width", 64, "Discriminator width.")
_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed steps (tracing).")


def build_step(workdir: str):
  """(config, state, compiled step, build seconds) from the flags."""
  config = TrainConfig(
      workdir=workdir, arch=_ARCH.value, resolution=_RESOLUTION.value,
      width=_WIDTH.value, batch_size=_BATCH.value, features=_FEATURES.value,
      feature_weights="random", strategy="default",
      feature_layers=tuple(int(l) for l in _FEATURE_LAYERS.value),
      method=_METHOD.value, dataset=_DATASET.value, data_dir=_DATA_DIR.value,
      d_width=_D_WIDTH.value,
      ticket=TicketOptions(mode=_MODE.value, keep_ratio=_KEEP.value))
  strategy = train_lib.make_strategy(config)
  dim = features.build(config.features, config.resolution, "random",
                       layers=config.feature_layers).feature_dim
  rng = np.random.default_rng(0)
  moments = (rng.normal(size=dim).astype(np.float32),
             rng.uniform(0.5, 2, size=dim).astype(np.float32))
  images = None
  if config.method_spec.adversarial and _INPUT.value == "synthetic":
    images = rng.integers(0, 256, size=(4000, config.resolution,
                                        config.resolution, 3), dtype=np.uint8)
  start = time.perf_counter()
  state = train_lib.build_state(config, strategy, workdir, "random", moments,
                                images)
  build_s = time.perf_counter() - start
  return config, state, train_lib.train_step_fn(config, strategy, state), build_s


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as workdir:
    config, state, step, build_s = build_step(workdir)
    flops = timing.graph_flops(step)
    run = lambda: float(step()["loss"])  # float(): wait for the step to end.
    seconds = timing.median_seconds(run, _STEPS.value, warmup=_WARMUP.value)
    gpus = tf.config.list_physical_devices("GPU")
    print(json.dumps({
        "arch": config.arch, "resolution": config.resolution,
        "batch_size": config.batch_size, "mode": config.ticket.mode,
        "method": config.method, "input": (_INPUT.value if
                                           config.method_spec.adversarial
                                           else "none (moment matching)"),
        "build_s": round(build_s, 2),
        "keep_ratio": _KEEP.value, "features": _FEATURES.value,
        "median_step_s": round(seconds, 4),
        "steps_per_s": round(1 / seconds, 3),
        "params_generator": generators.prunable_parameter_count(
            state.generator)["total"],
        "feature_dim": state.extractor.feature_dim,
        "gflop_per_step": round(flops / 1e9, 1),
        "achieved_gflop_per_s": round(flops / 1e9 / seconds, 1),
        "feature_layers": list(config.feature_layers) or "all",
        # Linux reports kilobytes: the process's peak, building included.
        "peak_rss_mb": round(resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": gpus[0].name if gpus else f"CPU ({os.cpu_count()} cores)",
        "machine": platform.machine(), "tensorflow": tf.__version__}))


if __name__ == "__main__":
  app.run(main)
