r"""Finds a strong lottery ticket in a random generator.

  python -m slt_tf.train --flagfile=configs/demo.cfg --workdir=workdirs/demo

Flags become a ``TrainConfig``; the work is ``slt_tf.train_lib.run``.
"""

import signal
import sys

from absl import app
from absl import flags

from slt_tf import config as config_lib
from slt_tf import data
from slt_tf import features
from slt_tf import generators
from slt_tf import initializers
from slt_tf import layers
from slt_tf import methods
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf.features import backbones
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
_METHOD = flags.DEFINE_string(
    "method", None, f"{methods.METHODS}: ticket (train the scores of a frozen "
    "random network), or a baseline: dense (train the weights), random_mask, "
    "random_dense (train nothing), adversarial_ticket (scores driven by a "
    "hinge GAN loss with the SNGAN discriminator), finetune (train the kept "
    "weights of the ticket in --init_from). Default: from --mode.")
_INIT_FROM = flags.DEFINE_string(
    "init_from", None, "finetune: workdir of the ticket to fine-tune.")
_MODE = flags.DEFINE_string(
    "mode", "ticket", "The masked layers' mode (set by --method): ticket "
    "(scores) or dense (weights).")
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
# Data and features.
_DATASET = flags.DEFINE_string(
    "dataset", "mnist_embedded", "A TFDS name (celeb_a, lsun/bedroom, ...), "
    "folder:PATH, or mnist_embedded (5,000 digits shipped with pip).")
_DATA_DIR = flags.DEFINE_string("data_dir", None,
                                "TFDS data directory (default: TFDS's).")
_SPLIT = flags.DEFINE_string("split", "train",
                             "Split whose feature statistics are matched.")
_DOWNLOAD = flags.DEFINE_bool("download", False,
                              "Let TFDS download a missing dataset.")
_FEATURES = flags.DEFINE_string(
    "features", "vgg19_bn", f"Feature extractor: {features.EXTRACTORS}.")
_FEATURE_WEIGHTS = flags.DEFINE_string(
    "feature_weights", None, "Extractor weights: a file (vgg19_bn: .npz from "
    "`python -m slt_tf.features.convert`), 'imagenet' (vgg19), or 'random' "
    "(tests); classifier: none (trained on the dataset and cached).")
_FEATURE_BN = flags.DEFINE_string(
    "feature_bn", "batch", f"VGG19-BN batch norm: {features.BN_MODES}.")
_FEATURE_LAYERS = flags.DEFINE_list(
    "feature_layers", [], "Match only these feature layers (1-based; VGG19: "
    "its 16 ReLUs in order), e.g. 1,2,3,4,5,6,7,8 when memory is short; "
    "empty: all (the paper's).")
_MAX_REAL_IMAGES = flags.DEFINE_integer(
    "max_real_images", 0, "Real statistics over the first N images (0: all).")
_CACHE_DIR = flags.DEFINE_string(
    "cache_dir", None, "Cache of real statistics and trained feature nets "
    "(default: $SLT_TF_CACHE or ~/.cache/slt_tf).")
# Optimisation.
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Global batch size.")
_TRAIN_STEPS = flags.DEFINE_integer(
    "train_steps", 1000, "Total steps; a resumed run continues up to it.")
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 5e-5,
                                    "Adam learning rate of the scores.")
_LR_SCHEDULE = flags.DEFINE_string(
    "lr_schedule", "constant", f"{config_lib.LR_SCHEDULES}; cosine decays to "
    "0 over train_steps.")
_BETA1 = flags.DEFINE_float("beta1", 0.5, "Adam beta1.")
_BETA2 = flags.DEFINE_float("beta2", 0.999, "Adam beta2.")
_ADAM_EPSILON = flags.DEFINE_float("adam_epsilon", 1e-8, "Adam epsilon.")
_AMA_LEARNING_RATE = flags.DEFINE_float(
    "ama_learning_rate", 1e-5, "Learning rate of the moment moving averages.")
# Run management.
_CHECKPOINT_EVERY = flags.DEFINE_integer("checkpoint_every", 500,
                                         "Steps between checkpoints.")
_KEEP_CHECKPOINTS = flags.DEFINE_integer("keep_checkpoints", 3,
                                         "Checkpoints kept on disk.")
_LOG_EVERY = flags.DEFINE_integer(
    "log_every", 50, "Steps between console lines and scalar summaries.")
_SAMPLE_EVERY = flags.DEFINE_integer(
    "sample_every", 500, "Steps between sample grids and mask statistics.")
_STRATEGY = flags.DEFINE_string(
    "strategy", "auto", f"{config_lib.STRATEGIES}; auto: MirroredStrategy on "
    "2+ GPUs, else one device; multi_worker reads TF_CONFIG.")
_COLLECTIVE_TIMEOUT_S = flags.DEFINE_integer(
    "collective_timeout_s", 1800, "multi_worker: fail instead of hanging when "
    "a collective waits longer than this for another worker (0: no limit).")
_EVAL_EVERY = flags.DEFINE_integer(
    "eval_every", 0, "Steps between evaluations (FID etc.) on the held-out "
    "selection split, keeping the best checkpoint in WORKDIR/best (0: never).")
_EVAL_SAMPLES = flags.DEFINE_integer("eval_samples", 1000,
                                     "N of those evaluations.")
_EVAL_BACKBONE = flags.DEFINE_string(
    "eval_backbone", "auto", "Their backbone: inception, digits, or auto.")
_EVAL_BACKBONE_WEIGHTS = flags.DEFINE_string(
    "eval_backbone_weights", None, "Inception weights for those evaluations.")
_D_WIDTH = flags.DEFINE_integer(
    "d_width", 128, "adversarial_ticket: SNGAN discriminator base width.")
_D_LEARNING_RATE = flags.DEFINE_float(
    "d_learning_rate", 2e-4, "adversarial_ticket: discriminator Adam "
    "learning rate.")
_D_BETA1 = flags.DEFINE_float("d_beta1", 0.5,
                              "adversarial_ticket: discriminator Adam beta1.")
_D_BETA2 = flags.DEFINE_float("d_beta2", 0.999,
                              "adversarial_ticket: discriminator Adam beta2.")
_CPU_REPLICAS = flags.DEFINE_integer(
    "cpu_replicas", 1, "With --strategy=mirrored and no GPU: split the CPU "
    "into this many replicas (testing).")


def _feature_layers():
  try:
    return tuple(int(v) for v in _FEATURE_LAYERS.value)
  except ValueError:
    raise ValueError(f"feature_layers must be integers, got "
                     f"{','.join(_FEATURE_LAYERS.value)}") from None


def config_from_flags() -> TrainConfig:
  """The run's configuration; raises ValueError starting with the flag's name."""
  ticket = TicketOptions(
      keep_ratio=_KEEP_RATIO.value, mode=_MODE.value,
      mask_scope=_MASK_SCOPE.value, weight_init=_WEIGHT_INIT.value,
      score_init=_SCORE_INIT.value, mask_bias=_MASK_BIAS.value,
      first_dense=_FIRST_DENSE.value, last_dense=_LAST_DENSE.value,
      seed=_SEED.value)
  return TrainConfig(
      workdir=_WORKDIR.value, method=_METHOD.value,
      init_from=_INIT_FROM.value, arch=_ARCH.value, resolution=_RESOLUTION.value,
      width=_WIDTH.value, nz=_NZ.value, num_classes=_NUM_CLASSES.value,
      num_samples=_NUM_SAMPLES.value, ticket=ticket, dataset=_DATASET.value,
      data_dir=_DATA_DIR.value, split=_SPLIT.value, download=_DOWNLOAD.value,
      features=_FEATURES.value, feature_weights=_FEATURE_WEIGHTS.value,
      feature_bn=_FEATURE_BN.value,
      feature_layers=_feature_layers(), max_real_images=_MAX_REAL_IMAGES.value,
      cache_dir=_CACHE_DIR.value, batch_size=_BATCH_SIZE.value,
      train_steps=_TRAIN_STEPS.value, learning_rate=_LEARNING_RATE.value,
      lr_schedule=_LR_SCHEDULE.value, beta1=_BETA1.value, beta2=_BETA2.value,
      adam_epsilon=_ADAM_EPSILON.value,
      ama_learning_rate=_AMA_LEARNING_RATE.value,
      checkpoint_every=_CHECKPOINT_EVERY.value,
      keep_checkpoints=_KEEP_CHECKPOINTS.value, log_every=_LOG_EVERY.value,
      sample_every=_SAMPLE_EVERY.value, strategy=_STRATEGY.value,
      cpu_replicas=_CPU_REPLICAS.value,
      collective_timeout_s=_COLLECTIVE_TIMEOUT_S.value,
      eval_every=_EVAL_EVERY.value,
      eval_samples=_EVAL_SAMPLES.value, eval_backbone=_EVAL_BACKBONE.value,
      eval_backbone_weights=_EVAL_BACKBONE_WEIGHTS.value,
      d_width=_D_WIDTH.value, d_learning_rate=_D_LEARNING_RATE.value,
      d_beta1=_D_BETA1.value, d_beta2=_D_BETA2.value)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]} (flags take the form "
             "--name=value)")
  try:
    config = config_from_flags()
  except ValueError as e:
    sys.exit(f"error: --{e}")
  try:
    result = train_lib.run(config, flags.FLAGS.flags_into_string())
  except (train_lib.RunError, data.DataError, features.WeightsError,
          backbones.BackboneError) as e:
    sys.exit(f"error: --{e}")
  except (FloatingPointError, train_lib.WorkerLost) as e:
    sys.exit(f"error: {e}")
  if result.get("stopped_by"):  # Checkpointed; exit as the signal asked.
    sys.exit(128 + signal.Signals[result["stopped_by"]].value)


if __name__ == "__main__":
  app.run(main)
