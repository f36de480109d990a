"""Everything a search step reads and updates, built under a strategy."""

import dataclasses
import math
from typing import List, Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import images as images_lib
from slt_tf.data import real_stats
from slt_tf import features as features_lib
from slt_tf.features import classifier
from slt_tf import generators
from slt_tf import precision as precision_lib
from slt_tf.search import finetune
from slt_tf.search import losses


@dataclasses.dataclass
class State:
  """What the step reads and updates; ``checkpoint`` holds every stateful
  part (scores or weights, optimiser slots, moving averages, batch-norm
  statistics, power iterations, step), so a resumed run is bitwise the
  uninterrupted one."""
  generator: keras.Model
  extractor: features_lib.FeatureExtractor
  objective: losses.MomentMatching
  optimizer: keras.optimizers.Optimizer
  step: tf.Variable
  checkpoint: tf.train.Checkpoint
  # adversarial_ticket only:
  discriminator: Optional[keras.Model] = None
  d_optimizer: Optional[keras.optimizers.Optimizer] = None
  real_images: Optional[tf.Variable] = None  # uint8 (N, H, W, 3), on the host.
  # finetune only: one 0/1 tensor per trainable variable.
  gradient_masks: Optional[List[tf.Tensor]] = None


# The authors' schedule: PyTorch's CosineAnnealingLR(T_max=10, eta_min=0)
# stepped after every iteration, on the scores' and both moving averages'
# optimisers: a 20-step cycle from the peak to 0 and back.
COSINE_CYCLE_HALF_PERIOD = 10


@keras.saving.register_keras_serializable(package="slt_tf")
class CosineCycle(keras.optimizers.schedules.LearningRateSchedule):
  """``peak * (1 + cos(pi * step / half_period)) / 2``: PyTorch's
  ``CosineAnnealingLR`` (closed form, ``eta_min`` 0) for every step, also
  past ``T_max``, where it cycles."""

  def __init__(self, peak: float, half_period: int = COSINE_CYCLE_HALF_PERIOD):
    self.peak, self.half_period = float(peak), int(half_period)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    return self.peak * 0.5 * (1.0 + tf.cos(
        math.pi * step / float(self.half_period)))

  def get_config(self):
    return {"peak": self.peak, "half_period": self.half_period}


def learning_rate(config: TrainConfig):
  """The scores' (or weights') learning rate: a constant or a schedule of
  the number of updates made so far."""
  if config.optim.lr_schedule == "cosine":
    return keras.optimizers.schedules.CosineDecay(config.optim.learning_rate,
                                                  config.optim.train_steps)
  if config.optim.lr_schedule == "cosine_cycle":
    return CosineCycle(config.optim.learning_rate)
  return config.optim.learning_rate


def ama_learning_rate(config: TrainConfig):
  """The moment moving averages' learning rate: it follows the cycle with
  ``cosine_cycle`` (as the authors' do), else it is constant."""
  if config.optim.lr_schedule == "cosine_cycle":
    return CosineCycle(config.optim.ama_learning_rate)
  return config.optim.ama_learning_rate


def extractor_weights(config: TrainConfig, cache_dir: str) -> Optional[str]:
  if config.features.extractor != "classifier":
    return config.features.weights
  if config.features.weights:
    return config.features.weights
  path, info = classifier.ensure_trained(config.data.dataset, config.model.resolution,
                                         config.seed, cache_dir,
                                         config.data.data_dir,
                                         holdout=config.data.holdout)
  logging.info("feature net: classifier trained on %s (held-out accuracy "
               "%.4f), weights %s", config.data.dataset, info["test_accuracy"],
               path)
  return path


def build_state(config: TrainConfig, strategy, cache_dir: str,
                weights: Optional[str], real_moments=None,
                real_images: Optional[np.ndarray] = None) -> State:
  """Everything a search step needs, built under ``strategy``.

  Args:
    config: the run's configuration.
    strategy: its distribution strategy.
    cache_dir: cache of real statistics.
    weights: the feature extractor's weights (see ``features.build``).
    real_moments: (mean, variance) to match instead of the dataset's cached
      statistics (benchmarks on random data).
    real_images: adversarial_ticket: uint8 images (N, H, W, 3) for the
      discriminator instead of the dataset's (benchmarks).
  """
  with strategy.scope():
    keras.utils.set_random_seed(config.seed)
    extractor = features_lib.build(config.features.extractor, config.model.resolution,
                                   weights, config.features.bn, config.seed,
                                   config.features.layers)
    logging.info("features: %s", extractor.describe())
    if weights == features_lib.RANDOM:
      logging.warning("the feature extractor has RANDOM weights: the search "
                      "will not learn meaningful images")
    if real_moments is None:
      mean, var, _ = real_stats.load_or_compute(
          extractor, config.data.dataset, config.model.resolution, config.data.split,
          config.optim.batch_size, cache_dir, config.data.data_dir,
          config.data.max_real_images, config.data.holdout)
    else:
      mean, var = real_moments
    with precision_lib.policy_scope(config.runtime.precision):
      if config.runtime.precision != "float32":
        # The real statistics above are float32's; the step's twin computes
        # in the low precision with the same weights.
        twin = features_lib.build(config.features.extractor, config.model.resolution,
                                  weights, config.features.bn, config.seed,
                                  config.features.layers)
        twin.model.set_weights(extractor.model.get_weights())
        extractor = twin
      generator = generators.build(config.model.arch, check_range=True,
                                   **config.generator_kwargs())
    gradient_masks = (finetune.start_from_ticket(config, generator)
                      if config.method_spec.needs_ticket else None)
    objective = losses.MomentMatching(
        mean, var, ama_learning_rate(config), config.optim.beta1, config.optim.beta2,
        config.optim.adam_epsilon, config.optim.ama_init, config.seed)
    optimizer = precision_lib.wrap_optimizer(keras.optimizers.Adam(
        learning_rate(config), beta_1=config.optim.beta1, beta_2=config.optim.beta2,
        epsilon=config.optim.adam_epsilon), config.runtime.precision)
    # Built inside the scope before the first step, or MirroredStrategy fails.
    optimizer.build(generator.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    adversarial = {}
    if config.method_spec.adversarial:
      with precision_lib.policy_scope(config.runtime.precision):
        discriminator = generators.build_discriminator(
            config.model.resolution, ch=config.adversarial.width, seed=config.seed,
            channels=config.model.channels)
      d_adam = keras.optimizers.Adam(
          config.adversarial.learning_rate, beta_1=config.adversarial.beta1,
          beta_2=config.adversarial.beta2, epsilon=config.optim.adam_epsilon)
      d_optimizer = precision_lib.wrap_optimizer(d_adam, config.runtime.precision)
      d_optimizer.build(discriminator.trainable_variables)
      adversarial = dict(discriminator=discriminator, d_optimizer=d_optimizer)
  # The optimisers' inner state only: checkpoints do not depend on precision.
  stored = dict(adversarial)
  if "d_optimizer" in stored:
    stored["d_optimizer"] = precision_lib.checkpointed(stored["d_optimizer"])
  checkpoint = tf.train.Checkpoint(
      generator=generator, optimizer=precision_lib.checkpointed(optimizer),
      ama_mean=objective.ama_mean, ama_var=objective.ama_var, step=step,
      **stored)
  if config.method_spec.adversarial:
    real_images = real_images_in_memory(config, real_images)
  return State(generator, extractor, objective, optimizer, step, checkpoint,
                real_images=real_images, gradient_masks=gradient_masks,
                **adversarial)


def real_images_in_memory(config: TrainConfig,
                          array: Optional[np.ndarray] = None) -> tf.Variable:
  """The training split as uint8 in host memory, for the discriminator.

  Real batches are then a function of (seed, step), as the latents are, so
  that a restarted adversarial run continues exactly; uint8 keeps CelebA 64
  at 2.4 GB (``max_real_images`` caps it).
  """
  if array is None:
    source = config.data.source().load(config.model.resolution,
                                       config.data.split)
    ds = source.dataset
    if config.data.max_real_images:
      ds = ds.take(config.data.max_real_images)
    array = np.concatenate([
        images_lib.to_uint8(batch).numpy()
        for batch in ds.batch(1024)])
  logging.info("adversarial: %d real images held in memory (%.1f MB)",
               len(array), array.nbytes / 2**20)
  with tf.device("/cpu:0"):
    return tf.Variable(array, trainable=False, name="real_images")
