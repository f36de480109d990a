r"""Time of one real search step (generator, features, moment matching, Adam).

  python bench/step_time.py --arch=sngan --resolution=32 --batch_size=64 \
      --mode=ticket [--steps=10] [--features=vgg19_bn]

Builds the search step of ``slt_tf.train_lib`` exactly as a run does, with
random feature-extractor weights and random real statistics so that it needs
no dataset or weight file, and prints one JSON line: the median step time
(warm-up excluded), steps/s, generator size, feature width, device and
TensorFlow version.
"""

import json
import os
import platform
import tempfile

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from slt_tf import generators
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf.features import vgg
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
_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed steps (tracing).")


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as workdir:
    config = TrainConfig(
        workdir=workdir, arch=_ARCH.value, resolution=_RESOLUTION.value,
        width=_WIDTH.value, batch_size=_BATCH.value, features=_FEATURES.value,
        feature_weights="random", strategy="default",
        ticket=TicketOptions(mode=_MODE.value, keep_ratio=_KEEP.value))
    strategy = train_lib.make_strategy(config)
    dim = vgg.feature_dim(config.resolution)
    rng = np.random.default_rng(0)
    moments = (rng.normal(size=dim).astype(np.float32),
               rng.uniform(0.5, 2, size=dim).astype(np.float32))
    state = train_lib.build_state(config, strategy, workdir, "random", moments)
    step = train_lib.train_step_fn(config, strategy, state)
    run = lambda: float(step()["loss"])  # float(): wait for the step to end.
    seconds = timing.median_seconds(run, _STEPS.value, warmup=_WARMUP.value)
    gpus = tf.config.list_physical_devices("GPU")
    print(json.dumps({
        "arch": config.arch, "resolution": config.resolution,
        "batch_size": config.batch_size, "mode": _MODE.value,
        "keep_ratio": _KEEP.value, "features": _FEATURES.value,
        "median_step_s": round(seconds, 4),
        "steps_per_s": round(1 / seconds, 3),
        "params_generator": generators.prunable_parameter_count(
            state.generator)["total"],
        "feature_dim": state.extractor.feature_dim,
        "device": gpus[0].name if gpus else f"CPU ({os.cpu_count()} cores)",
        "machine": platform.machine(), "tensorflow": tf.__version__}))


if __name__ == "__main__":
  app.run(main)
