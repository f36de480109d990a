"""The search's inputs: the latents (and labels) and real batches of a step,
and the sample grid's fixed latents, each a pure function of (seed, step), so
that a restarted run draws exactly what the uninterrupted one would have.
How a latent batch is drawn from a seed is ``slt_tf.generators.inputs``."""

import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import images as images_lib
from slt_tf.generators import inputs


_SAMPLE_SEED = 0x5A3
_REAL_SEED_OFFSET = 1 << 32  # Keeps the real-batch draws apart from latents'.


def fixed_latents(config: TrainConfig) -> list:
  """The fixed inputs of the sample grid: z (and labels), from the run's seed."""
  z = tf.random.stateless_normal([config.runtime.grid_size, config.model.latent_size],
                                 seed=[config.seed, _SAMPLE_SEED])
  if config.model.num_classes:
    # One row of the grid per class rather than random labels.
    return [z, tf.range(config.runtime.grid_size) % config.model.num_classes]
  return [z]


def step_latents(config: TrainConfig, step) -> list:
  """The global batch of generator inputs of ``step`` (a function of seed, step)."""
  seed = tf.stack([tf.constant(config.seed, tf.int64),
                   tf.cast(step, tf.int64)])
  return inputs.latent_batch(config.optim.batch_size, config.model.latent_size,
                             config.model.num_classes, seed)


def real_batch(config: TrainConfig, images: tf.Variable, step) -> tf.Tensor:
  """The global batch of real images of ``step`` in [-1, 1] with the
  generator's channels (drawn with replacement, a function of seed and
  step)."""
  seed = tf.stack([tf.constant(config.seed + _REAL_SEED_OFFSET, tf.int64),
                   tf.cast(step, tf.int64)])
  index = tf.random.stateless_uniform(
      [config.optim.batch_size], seed=seed, minval=0,
      maxval=tf.shape(images, out_type=tf.int64)[0], dtype=tf.int64)
  # The generator's channels, as the discriminator sees both.
  return images_lib.to_channels(images_lib.from_uint8(tf.gather(images, index)),
                                config.model.channels)


def step_batch(config: TrainConfig, step, real_images=None) -> dict:
  """What the step ``step`` consumes, made by the loop: ``latents`` (the
  global batch of generator inputs) and, when ``real_images`` is given (the
  adversarial method), ``real``."""
  batch = {"latents": step_latents(config, step)}
  if real_images is not None:
    batch["real"] = real_batch(config, real_images, step)
  return batch
