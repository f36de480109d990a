r"""The real search step, built for benchmarks: its flags and ``build_step``.

Shared by ``step_time.py``, ``roofline.py`` and ``profile_step.py``. The step
is ``slt_tf.train_lib``'s, built exactly as a run builds it, with random
feature-extractor weights and random real statistics so that it needs no
dataset or weight file.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import dataclasses
import time

from absl import flags
import numpy as np

from slt_tf import config_flags
from slt_tf import features
from slt_tf.search import distribution
from slt_tf.search import latents
from slt_tf.search import state as state_lib
from slt_tf.search import step as step_lib

# The search's own flags (slt_tf.config_flags), with a benchmark's defaults:
# the paper's SNGAN, random feature weights and statistics, one device.
config_flags.define(
    defaults=dict(arch="sngan", d_width=64, feature_weights="random",
                  strategy="default"),
    exclude=("workdir",))
_INPUT = flags.DEFINE_enum(
    "input", "synthetic", ["synthetic", "real"], "adversarial_ticket: real "
    "batches from random uint8 images, or from the dataset held in memory "
    "as a run does (moment matching reads no real images per step).")
_STEPS = flags.DEFINE_integer("steps", 10, "Timed steps.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed steps (tracing).")


def build_step(workdir: str, config=None):
  """(config, state, step, build seconds) from the flags, or from ``config``
  (whose ``workdir`` is replaced); ``step`` is a ``Step``."""
  if config is None:
    config = config_flags.config(workdir=workdir)
  else:
    config = config.replace(workdir=workdir)
  strategy = distribution.make_strategy(config)
  dim = features.build(config.features.extractor, config.model.resolution,
                       config.features.weights,
                       layers=config.features.layers).feature_dim
  rng = np.random.default_rng(0)
  moments = (rng.normal(size=dim).astype(np.float32),
             rng.uniform(0.5, 2, size=dim).astype(np.float32))
  images = None
  if config.method_spec.adversarial and _INPUT.value == "synthetic":
    images = rng.integers(0, 256, size=(4000, config.model.resolution,
                                        config.model.resolution, 3), dtype=np.uint8)
  start = time.perf_counter()
  state = state_lib.build_state(config, strategy, workdir,
                                config.features.weights, moments, images)
  build_s = time.perf_counter() - start
  return config, state, Step(config, state, strategy), build_s


class Step:
  """The search step as the loop runs it: ``step()`` makes the step's batch
  (``latents.step_batch``) and runs the compiled step on it."""

  def __init__(self, config, state, strategy):
    self.config, self.state = config, state
    self.compiled = step_lib.train_step_fn(config, strategy, state)
    self.real = state.real_images if config.method_spec.adversarial else None

  def batch(self) -> dict:
    return latents.step_batch(self.config, self.state.step, self.real)

  def __call__(self) -> dict:
    return self.compiled(self.batch())

  def traced(self):
    """The compiled step's concrete function (its graph) for this batch."""
    return self.compiled.get_concrete_function(self.batch())
