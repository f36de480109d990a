r"""The real search step, built for benchmarks: its flags and ``build_step``.

Shared by ``step_time.py``, ``roofline.py`` and ``profile_step.py``. The step
is ``slt_tf.train_lib``'s, built exactly as a run builds it, with random
feature-extractor weights and random real statistics so that it needs no
dataset or weight file.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import time

from absl import flags
import numpy as np

from slt_tf import features
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions

_ARCH = flags.DEFINE_string("arch", "sngan", "Generator architecture.")
_RESOLUTION = flags.DEFINE_integer("resolution", 32, "Image size.")
_WIDTH = flags.DEFINE_integer("width", None, "Width (default: the paper's).")
_BATCH = flags.DEFINE_integer("batch_size", 64, "Global batch size.")
_MODE = flags.DEFINE_enum("mode", "ticket", ["ticket", "dense"], "What trains.")
_KEEP = flags.DEFINE_float("keep_ratio", 0.1, "Keep ratio (ticket mode).")
_FEATURES = flags.DEFINE_enum(
    "features", "vgg19_bn", ["vgg19_bn", "vgg19", "classifier"],
    "Feature extractor (random weights); classifier: the demo's digits net.")
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
