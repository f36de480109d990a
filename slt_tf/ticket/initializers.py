"""Initialisers for the frozen random weights and for the scores.

All draws are stateless: ``(seed, stream)`` fully determines a tensor, so a ticket
can be rebuilt from its seeds alone. Fan-in follows the Keras (and PyTorch)
convention ``prod(shape[:-2]) * shape[-2]``: for a Conv2DTranspose kernel
``(kh, kw, filters, in)`` that is ``kh * kw * filters``, which is also what
PyTorch's ``_calculate_fan_in_and_fan_out`` returns for the authors' layers.

Weights (``WEIGHT_INITS``):
  * ``signed_kaiming_constant`` (default): ``sign(u) * sqrt(2 / fan_in)``.
  * ``kaiming_normal``: ``N(0, 2 / fan_in)``.
  * ``scaled_kaiming_normal``: ``N(0, 2 / (fan_in * keep_ratio))``, edge-popup's
    ``scale_fan``, which keeps the activation scale of the pruned network.
  * ``normal_0.02``: ``N(0, 0.02^2)``, what the authors' public code ends up using.
  * ``scaled_signed_kaiming_constant``: ``sign(u) * sqrt(2 / (fan_in *
    keep_ratio))``, edge-popup's best (its "scaled signed constant"): the signs
    of ``signed_kaiming_constant`` for the same seed, with the gain of
    ``scaled_kaiming_normal``.

Scores (``SCORE_INITS``):
  * ``uniform_0.1`` (default): ``U(-0.1, 0.1)``, the authors' configuration.
  * ``kaiming_uniform``: ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, edge-popup's
    ``kaiming_uniform_(scores, a=sqrt(5))``.

Biases use the weight scheme with the fan-in of their kernel (a bias drawn as zero,
as DCGAN's init does, would make its mask meaningless).
"""

import math
import random
from typing import Sequence

import keras
import tensorflow as tf

from slt_tf.config_fields import check_name
from slt_tf.ticket.names import SCORE_INITS
from slt_tf.ticket.names import WEIGHT_INITS


_RELU_GAIN = math.sqrt(2.0)


def new_seed() -> int:
  """A fresh random seed, for layers built without one (stored in their config)."""
  return random.SystemRandom().randrange(2**31 - 1)


def fan_in(shape: Sequence[int]) -> int:
  """Fan-in of a kernel shape, Keras/PyTorch convention."""
  shape = tuple(int(d) for d in shape)
  if len(shape) == 0:
    return 1
  if len(shape) == 1:
    return shape[0]
  return int(math.prod(shape[:-2])) * shape[-2]


@keras.saving.register_keras_serializable(package="slt_tf")
class Stateless(keras.initializers.Initializer):
  """A stateless draw from one of the named schemes.

  Args:
    scheme: one of ``WEIGHT_INITS + SCORE_INITS``.
    seed: integer seed.
    stream: integer distinguishing tensors drawn from the same seed.
    fan_in: fan-in to scale by; computed from the shape when None.
    keep_ratio: only for ``scaled_kaiming_normal``.
  """

  def __init__(self, scheme: str, seed: int, stream: int = 0, fan_in=None,
               keep_ratio: float = 1.0):
    if scheme not in WEIGHT_INITS + SCORE_INITS:
      raise ValueError(f"unknown initialiser {scheme!r}; expected one of "
                       f"{WEIGHT_INITS + SCORE_INITS}")
    self.scheme = scheme
    self.seed = int(seed)
    self.stream = int(stream)
    self.fan_in = None if fan_in is None else int(fan_in)
    self.keep_ratio = float(keep_ratio)

  def __call__(self, shape, dtype=None):
    dtype = tf.as_dtype(dtype or "float32")
    shape = [int(d) for d in shape]
    fan = self.fan_in if self.fan_in is not None else fan_in(shape)
    seed = tf.constant([self.seed, self.stream], tf.int64)
    scheme = self.scheme
    if scheme in ("signed_kaiming_constant", "scaled_signed_kaiming_constant"):
      scale = self.keep_ratio if scheme.startswith("scaled") else 1.0
      sign = tf.where(tf.random.stateless_uniform(shape, seed) < 0.5, -1.0, 1.0)
      return tf.cast(sign * (_RELU_GAIN / math.sqrt(fan * scale)), dtype)
    if scheme in ("kaiming_normal", "scaled_kaiming_normal"):
      scale = self.keep_ratio if scheme == "scaled_kaiming_normal" else 1.0
      std = _RELU_GAIN / math.sqrt(fan * scale)
      return tf.cast(tf.random.stateless_normal(shape, seed) * std, dtype)
    if scheme == "normal_0.02":
      return tf.cast(tf.random.stateless_normal(shape, seed) * 0.02, dtype)
    limit = 0.1 if scheme == "uniform_0.1" else 1.0 / math.sqrt(fan)
    # Drawn in float64: a float32 uniform has 2^23 levels and |x| = |-x| pairs,
    # so |scores| would tie often, and ties at the top-k threshold cost an extra
    # pass to break.
    return tf.cast(
        tf.random.stateless_uniform(shape, seed, minval=-limit, maxval=limit,
                                    dtype=tf.float64), dtype)

  def get_config(self):
    return {"scheme": self.scheme, "seed": self.seed, "stream": self.stream,
            "fan_in": self.fan_in, "keep_ratio": self.keep_ratio}


