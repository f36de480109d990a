"""The generator's inputs: latents (and labels) and real batches, each a pure
function of (seed, step), so that a restarted run draws exactly what the
uninterrupted one would have."""

import tensorflow as tf

from slt_tf import images as images_lib
from slt_tf.config import TrainConfig


_SAMPLE_SEED = 0x5A3
_REAL_SEED_OFFSET = 1 << 32  # Keeps the real-batch draws apart from latents'.


def fixed_latents(config: TrainConfig) -> list:
  """The fixed inputs of the sample grid: z (and labels), from the run's seed."""
  z = tf.random.stateless_normal([config.num_samples, config.latent_size],
                                 seed=[config.seed, _SAMPLE_SEED])
  if config.num_classes:
    return [z, tf.range(config.num_samples) % config.num_classes]
  return [z]


def latent_batch(batch: int, nz: int, num_classes: int, seed) -> list:
  """Generator inputs drawn statelessly from ``seed`` (an int64 pair): [z],
  or [z, labels] for a conditional generator."""
  seed = tf.cast(seed, tf.int64)
  z = tf.random.stateless_normal([batch, nz], seed=seed)
  if num_classes:
    labels = tf.random.stateless_uniform(
        [batch], seed=seed + [0, 1 << 40], minval=0, maxval=num_classes,
        dtype=tf.int32)
    return [z, labels]
  return [z]


def step_latents(config: TrainConfig, step) -> list:
  """The global batch of generator inputs of ``step`` (a function of seed, step)."""
  seed = tf.stack([tf.constant(config.seed, tf.int64),
                   tf.cast(step, tf.int64)])
  return latent_batch(config.batch_size, config.latent_size,
                      config.num_classes, seed)


def real_batch(config: TrainConfig, images: tf.Variable, step) -> tf.Tensor:
  """The global batch of real images of ``step`` in [-1, 1] (drawn with
  replacement, a function of seed and step)."""
  seed = tf.stack([tf.constant(config.seed + _REAL_SEED_OFFSET, tf.int64),
                   tf.cast(step, tf.int64)])
  index = tf.random.stateless_uniform(
      [config.batch_size], seed=seed, minval=0,
      maxval=tf.shape(images, out_type=tf.int64)[0], dtype=tf.int64)
  return images_lib.from_uint8(tf.gather(images, index))


def generator_input(inputs: list):
  """What a generator is called with: ``z`` alone, or ``[z, labels]`` for a
  conditional one (the lists the functions above return)."""
  return inputs if len(inputs) > 1 else inputs[0]
