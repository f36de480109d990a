"""What a generator is called with: a latent batch drawn from a seed, and the
``z`` or ``[z, labels]`` a generator takes.

Search, evaluation and the exported ``sample`` signature all draw through
``latent_batch``, so the same seed gives the same images everywhere.
"""

import tensorflow as tf


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


def generator_input(inputs: list):
  """What a generator is called with: ``z`` alone, or ``[z, labels]`` for a
  conditional one (the list ``latent_batch`` returns)."""
  return inputs if len(inputs) > 1 else inputs[0]
