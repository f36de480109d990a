"""tensorflow-gan, importable on TensorFlow 2.21, as a reference oracle.

tensorflow-gan 2.1.0 (its last release) defines Estimator hooks and specs at
import time, and TensorFlow >= 2.16 has no ``tf.estimator``, so ``import
tensorflow_gan`` fails (tensorflow/gan issue #55). Its evaluation functions
never touch the Estimator API, so for the duration of the import this helper
supplies a stand-in ``tf.estimator`` whose every attribute is an inert class,
then removes it again. Only the test suite uses tensorflow-gan; the runtime
metric code is slt_tf's own (``slt_tf.evaluation.metrics``).
"""

import types

import tensorflow as tf


class _Inert(type):
  """A class whose every attribute is another inert class (ModeKeys.TRAIN...)."""

  def __getattr__(cls, name):
    if name.startswith("__"):
      raise AttributeError(name)
    return _Inert(name, (object,), {})


class _EstimatorStandIn(types.ModuleType):

  def __getattr__(self, name):
    if name.startswith("__"):
      raise AttributeError(name)
    return _Inert(name, (object,), {})


def load():
  """Returns the ``tensorflow_gan`` module."""
  # Its dependencies first: importing them rebuilds tf.compat.v1's wrapper.
  import tensorflow_hub  # pylint: disable=g-import-not-at-top,unused-import
  import tensorflow_probability  # pylint: disable=g-import-not-at-top,unused-import
  # Both tf.estimator and tf.compat.v1.estimator are read at import time.
  modules = [m for m in (tf, tf.compat.v1) if not hasattr(m, "estimator")]
  for module in modules:
    module.estimator = _EstimatorStandIn("estimator")
  try:
    import tensorflow_gan  # pylint: disable=g-import-not-at-top
  finally:
    for module in modules:
      del module.estimator
  return tensorflow_gan
