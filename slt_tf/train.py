r"""Finds a strong lottery ticket in a random generator.

  python -m slt_tf.train --flagfile=configs/demo.cfg --workdir=workdirs/demo

Flags become a ``TrainConfig``; the work is ``slt_tf.train_lib.run``.
"""

import sys

from absl import app
from absl import flags

from slt_tf import generators
from slt_tf import initializers
from slt_tf import layers
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Directory for checkpoints, summaries, samples and the "
    "effective flags of the run.")
_ARCH = flags.DEFINE_string("arch", "gfmn",
                            f"Generator architecture: {generators.ARCHS}.")
_RESOLUTION = flags.DEFINE_integer("resolution", 32, "Image size (32 or 64).")
_WIDTH = flags.DEFINE_integer(
    "width", None, "Base width (GFMN ngf, SNGAN/BigGAN ch); default: the "
    "paper's.")
_NZ = flags.DEFINE_integer("nz", None, "Latent size; default: the "
                           "architecture's.")
_KEEP_RATIO = flags.DEFINE_float(
    "keep_ratio", 0.1, "Fraction of weights KEPT, in (0, 1] (the paper's "
    "'0.k').")
_MODE = flags.DEFINE_string(
    "mode", "ticket", "ticket: train scores of a frozen random network; "
    "dense: train the weights (baseline).")
_MASK_SCOPE = flags.DEFINE_string(
    "mask_scope", "layer", f"Top-k per layer or one global threshold: "
    f"{layers.MASK_SCOPES}.")
_WEIGHT_INIT = flags.DEFINE_string(
    "weight_init", "signed_kaiming_constant",
    f"Random weights: {initializers.WEIGHT_INITS}.")
_SCORE_INIT = flags.DEFINE_string("score_init", "uniform_0.1",
                                  f"Scores: {initializers.SCORE_INITS}.")
_MASK_BIAS = flags.DEFINE_bool("mask_bias", True,
                               "Give biases their own scores and mask.")
_FIRST_DENSE = flags.DEFINE_bool("first_dense", False,
                                 "Keep the first layer unpruned.")
_LAST_DENSE = flags.DEFINE_bool("last_dense", False,
                                "Keep the last layer unpruned.")
_NUM_CLASSES = flags.DEFINE_integer(
    "num_classes", 0, "BigGAN only: number of classes (0: unconditional).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the random network and the "
                             "run.")
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 64,
                                    "Images in the sample grid.")


def config_from_flags() -> TrainConfig:
  """The run's configuration; raises ValueError starting with the flag's name."""
  ticket = TicketOptions(
      keep_ratio=_KEEP_RATIO.value, mode=_MODE.value,
      mask_scope=_MASK_SCOPE.value, weight_init=_WEIGHT_INIT.value,
      score_init=_SCORE_INIT.value, mask_bias=_MASK_BIAS.value,
      first_dense=_FIRST_DENSE.value, last_dense=_LAST_DENSE.value,
      seed=_SEED.value)
  return TrainConfig(
      workdir=_WORKDIR.value, arch=_ARCH.value, resolution=_RESOLUTION.value,
      width=_WIDTH.value, nz=_NZ.value, num_classes=_NUM_CLASSES.value,
      num_samples=_NUM_SAMPLES.value, ticket=ticket)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]} (flags take the form "
             "--name=value)")
  try:
    config = config_from_flags()
  except ValueError as e:
    sys.exit(f"error: --{e}")
  train_lib.run(config, flags.FLAGS.flags_into_string())


if __name__ == "__main__":
  app.run(main)
