"""Sums and moments over the global batch, whatever the replica split.

Inside ``strategy.run`` with several replicas, ``all_sum`` all-reduces; elsewhere
it is the identity. Statistics built from it are those of the global batch, so
one replica of batch 64 and two of batch 32 compute the same numbers. The
all-reduce is differentiable (its gradient is again an all-sum).
"""

from typing import Sequence, Tuple

import tensorflow as tf


def num_replicas() -> int:
  """Replicas in sync in the current context (1 outside a strategy)."""
  context = tf.distribute.get_replica_context()
  if context is None:  # Cross-replica context.
    return tf.distribute.get_strategy().num_replicas_in_sync
  return context.num_replicas_in_sync


def all_sum(value):
  """Sum of ``value`` (a tensor or a nest of tensors) over the replicas."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return value
  return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def moments(x, axes: Sequence[int], ddof: int = 0
            ) -> Tuple[tf.Tensor, tf.Tensor]:
  """Mean and variance over ``axes`` of the global batch (two passes).

  Args:
    x: a float tensor whose ``axes`` include the (per-replica) batch axis.
    axes: the reduced axes.
    ddof: 1 for the unbiased variance, 0 for the biased one.

  Returns:
    ``(mean, variance)`` with the reduced axes removed.
  """
  x = tf.convert_to_tensor(x)
  local_count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), list(axes))),
                        x.dtype)
  total, count = all_sum((tf.reduce_sum(x, axes), local_count))
  mean = total / count
  centered = x - tf.reshape(mean, _kept_shape(x, axes))
  squares = all_sum(tf.reduce_sum(tf.square(centered), axes))
  return mean, squares / (count - ddof)


def _kept_shape(x, axes):
  shape = tf.unstack(tf.shape(x))
  for a in axes:
    shape[a] = 1
  return tf.stack(shape)
