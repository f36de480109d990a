"""Re-estimating a generator's batch-norm moving statistics.

A search updates the moving averages of the generator's batch norms with
momentum 0.9 while the masks (or weights) change under them, so the averages
an inference call uses describe a mix of recent networks rather than the
final one. ``reestimate`` replaces them by the average batch statistics of
the final network over fresh latent batches: the same batch size as the
search, so each batch is normalised as a training step would normalise it.
``reestimated`` does that for the duration of a ``with`` block and then puts
the search's averages back, so an evaluation during a search leaves the
search's state untouched.
"""

import contextlib
from typing import List

import keras
import tensorflow as tf

from slt_tf.generators import inputs as inputs_lib

# Latents of the re-estimation: a stream of their own, never the search's or
# the evaluation's.
_SEED = 0xB7A5


def batch_norms(generator) -> List[keras.layers.BatchNormalization]:
  """Every batch norm of ``generator`` (nested ones included)."""
  return [layer for layer in generator._flatten_layers(  # pylint: disable=protected-access
      include_self=False, recursive=True)
          if isinstance(layer, keras.layers.BatchNormalization)]


def reestimate(generator, batches: int, batch_size: int, nz: int,
               num_classes: int = 0, seed: int = 0) -> int:
  """Sets each batch norm's moving mean and variance to the average of its
  batch statistics over ``batches`` training-mode calls.

  Each call normalises with its own batch's statistics (training mode), as in
  the search; the batch norm's momentum is 0 during the calls, so after each
  call its moving variables hold that batch's statistics, which are averaged.

  Args:
    generator: a Keras generator.
    batches: number of latent batches (>= 1).
    batch_size: latents per batch (the search's batch size).
    nz: latent size; num_classes: labels of a conditional generator.
    seed: picks the latents.

  Returns:
    The number of batch norms re-estimated (0: nothing to do).

  Raises:
    ValueError: ``batches`` < 1.
  """
  if batches < 1:
    raise ValueError(f"bn_batches must be >= 1, got {batches}")
  layers = batch_norms(generator)
  if not layers:
    return 0
  sums = [[tf.zeros_like(l.moving_mean), tf.zeros_like(l.moving_variance)]
          for l in layers]
  momenta = [l.momentum for l in layers]
  try:
    for layer in layers:
      layer.momentum = 0.0
    for i in range(batches):
      inputs = inputs_lib.latent_batch(batch_size, nz, num_classes,
                                       tf.constant([seed ^ _SEED, i], tf.int64))
      # Eager: a traced call would keep the momentum it was traced with.
      generator(inputs_lib.generator_input(inputs), training=True)
      for total, layer in zip(sums, layers):
        total[0] += layer.moving_mean
        total[1] += layer.moving_variance
  finally:
    for layer, momentum in zip(layers, momenta):
      layer.momentum = momentum
  for (mean, variance), layer in zip(sums, layers):
    layer.moving_mean.assign(mean / batches)
    layer.moving_variance.assign(variance / batches)
  return len(layers)


@contextlib.contextmanager
def reestimated(generator, batches: int, batch_size: int, nz: int,
                num_classes: int = 0, seed: int = 0):
  """``reestimate`` for the ``with`` block; the moving statistics the
  generator had are restored on exit."""
  saved = [(l, tf.identity(l.moving_mean), tf.identity(l.moving_variance))
           for l in batch_norms(generator)]
  try:
    reestimate(generator, batches, batch_size, nz, num_classes, seed)
    yield generator
  finally:
    for layer, mean, variance in saved:
      layer.moving_mean.assign(mean)
      layer.moving_variance.assign(variance)
