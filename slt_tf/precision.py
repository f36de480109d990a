"""Numeric precision of the search step: Keras mixed-precision policies.

``float32`` computes everything in float32 (TF32 on NVIDIA Ampere and later,
TensorFlow's default there). ``bfloat16`` and ``float16`` are Keras's
``mixed_bfloat16`` and ``mixed_float16``: convolutions and matrix products run
in the low precision, every variable stays float32 (so checkpoints do not depend
on the precision), and the parts whose precision the method depends on stay
float32 by construction: scores, masks and thresholds (the masked layers read
their variables uncast and cast ``W * M`` only), batch-norm statistics (Keras's
batch norm upcasts), and the feature moments, the Adam moving averages and the
loss (``slt_tf.search.losses`` casts the features first; the variance term
vanishes in bfloat16's 8-bit mantissa otherwise). ``float16``'s narrow range
needs loss scaling: its optimiser is wrapped in Keras's ``LossScaleOptimizer``.
"""

import contextlib

# Keras is imported where it is used: the configuration validates against
# ``PRECISIONS`` without TensorFlow.
PRECISIONS = ("float32", "bfloat16", "float16")
_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16",
             "float16": "mixed_float16"}


def policy_name(precision: str) -> str:
  """The Keras dtype policy of ``precision`` (one of ``PRECISIONS``)."""
  if precision not in _POLICIES:
    raise ValueError(f"precision must be one of {PRECISIONS}, got "
                     f"{precision!r}")
  return _POLICIES[precision]


@contextlib.contextmanager
def policy_scope(precision: str):
  """Layers and models built inside take ``precision``'s dtype policy.

  Keras's policy is process-global; it is restored on exit, so that what is
  built elsewhere (evaluation, export: always float32) is unaffected.
  """
  import keras  # pylint: disable=g-import-not-at-top
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(policy_name(precision))
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)


def wrap_optimizer(optimizer, precision: str):
  """``optimizer``, loss-scaled for ``float16`` (a ``LossScaleOptimizer``
  whose ``scale_loss`` the step applies; other optimisers' is the identity)."""
  policy_name(precision)
  if precision == "float16":
    import keras  # pylint: disable=g-import-not-at-top
    return keras.optimizers.LossScaleOptimizer(optimizer)
  return optimizer


def checkpointed(optimizer):
  """The optimiser a checkpoint stores: the inner one of a loss-scaled
  optimiser, so that a checkpoint resumes in any precision (the loss scale
  starts afresh and adapts within a few steps)."""
  return getattr(optimizer, "inner_optimizer", optimizer)
