"""The moment-matching objective with the Adam moving average (GFMN).

For generated features f (global batch B, D features) and real statistics
(mu_r, var_r), with mu_f the batch mean and var_f the unbiased batch variance:

1. Two vectors v_mu, v_var each take one Adam step (PyTorch's form: lr 1e-5,
   beta1 0.5, beta2 0.999, eps 1e-8) on MSE(v, d) with d = mu_r - mu_f
   (resp. var_r - var_f), the generated statistics held constant.
2. loss = v_mu . (mu_r - mu_f) + v_var . (var_r - var_f), with the updated v's
   held constant: a low-variance estimate of the gradient of
   1/2 ||mu_r - mu_f||^2 + 1/2 ||var_r - var_f||^2.

Moments are those of the global batch (``slt_tf.replica``): every replica
computes the same loss, so the step divides it by the replica count before
differentiating (the all-reduce's gradient is an all-sum).
"""

import math
from typing import Dict, Tuple

import tensorflow as tf

from slt_tf.config import AMA_INITS
from slt_tf import replica


_AMA_SEED = 0xA3A  # Keeps the moving averages' draws apart from others.


class AdamMovingAverage(tf.Module):
  """A vector that follows a target by one Adam step per update.

  Each ``update(target)`` takes one step of PyTorch's Adam on
  ``mean((value - target)^2)`` and returns the new value. Replicas pass the same
  target and compute the same step; the first replica's value is kept.

  Args:
    dim: vector length.
    learning_rate: Adam's step size, or a schedule: a callable of the
      number of updates made so far (a Keras ``LearningRateSchedule``).
    beta1, beta2, epsilon: Adam's other hyper-parameters.
    initial: the starting value (D,); zeros when None.
  """

  def __init__(self, dim: int, learning_rate=1e-5,
               beta1: float = 0.5, beta2: float = 0.999,
               epsilon: float = 1e-8, initial=None, name=None):
    super().__init__(name=name)
    self.learning_rate = (learning_rate if callable(learning_rate)
                          else float(learning_rate))
    self.beta1 = float(beta1)
    self.beta2, self.epsilon = float(beta2), float(epsilon)
    vector = lambda n, start=None: tf.Variable(
        tf.zeros([dim]) if start is None else tf.cast(start, tf.float32),
        trainable=False, name=n,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.value = vector("value", initial)
    self.m, self.v = vector("m"), vector("v")
    self.t = tf.Variable(0, dtype=tf.int64, trainable=False, name="t",
                         aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def update(self, target) -> tf.Tensor:
    target = tf.stop_gradient(tf.convert_to_tensor(target, tf.float32))
    value = tf.convert_to_tensor(self.value)
    dim = tf.cast(tf.size(value), tf.float32)
    grad = 2.0 * (value - target) / dim
    t = tf.cast(self.t + 1, tf.float32)
    m = self.beta1 * self.m + (1.0 - self.beta1) * grad
    v = self.beta2 * self.v + (1.0 - self.beta2) * tf.square(grad)
    denom = (tf.sqrt(v) / tf.sqrt(1.0 - self.beta2 ** t)) + self.epsilon
    lr = (tf.cast(self.learning_rate(self.t), tf.float32)
          if callable(self.learning_rate) else self.learning_rate)
    value = value - (lr / (1.0 - self.beta1 ** t)) * m / denom
    self.m.assign(m)
    self.v.assign(v)
    self.t.assign_add(1)
    self.value.assign(value)
    return value


class MomentMatching(tf.Module):
  """Moment-matching loss against fixed real statistics.

  Args:
    real_mean, real_var: float arrays (D,), the training set's feature mean
      and unbiased variance.
    ama_learning_rate, beta1, beta2, epsilon: the moving averages' Adam
      (the learning rate may be a schedule, see ``AdamMovingAverage``).
    ama_init: where the moving averages start: "zeros", or "uniform",
      U(-1/sqrt(D), 1/sqrt(D)), the default initialisation of the PyTorch
      ``nn.Linear`` the authors hold them in.
    seed: seed of the "uniform" start.

  Attributes:
    ama_mean, ama_var: the two ``AdamMovingAverage`` (checkpoint these).
  """

  def __init__(self, real_mean, real_var, ama_learning_rate=1e-5,
               beta1: float = 0.5, beta2: float = 0.999,
               epsilon: float = 1e-8, ama_init: str = "zeros", seed: int = 0,
               name=None):
    super().__init__(name=name)
    # Variables rather than constants keep 1.2M-wide vectors out of the graph.
    self.real_mean = tf.Variable(tf.cast(real_mean, tf.float32),
                                 trainable=False, name="real_mean")
    self.real_var = tf.Variable(tf.cast(real_var, tf.float32),
                                trainable=False, name="real_var")
    dim = int(self.real_mean.shape[0])
    ama = dict(learning_rate=ama_learning_rate, beta1=beta1, beta2=beta2,
               epsilon=epsilon)
    if ama_init not in AMA_INITS:
      raise ValueError(f"ama_init must be one of {AMA_INITS}, got {ama_init!r}")
    start = lambda i: (None if ama_init == "zeros" else
                       tf.random.stateless_uniform(
                           [dim], seed=[seed, _AMA_SEED + i],
                           minval=-1.0 / math.sqrt(dim),
                           maxval=1.0 / math.sqrt(dim)))
    self.ama_mean = AdamMovingAverage(dim, name="ama_mean", initial=start(0),
                                      **ama)
    self.ama_var = AdamMovingAverage(dim, name="ama_var", initial=start(1),
                                     **ama)

  def __call__(self, features) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
    """Loss of a (per-replica) batch of generated features (B, D).

    Updates the moving averages. Returns ``(loss, metrics)``; the metrics
    (``loss_mean``, ``loss_var``, ``mean_mse``, ``var_mse``: the mean squared
    differences of the statistics) are global and equal on every replica.
    """
    features = tf.cast(features, tf.float32)
    fake_mean, fake_var = replica.moments(features, axes=(0,), ddof=1)
    diff_mean = self.real_mean - fake_mean
    diff_var = self.real_var - fake_var
    v_mean = tf.stop_gradient(self.ama_mean.update(diff_mean))
    v_var = tf.stop_gradient(self.ama_var.update(diff_var))
    loss_mean = tf.reduce_sum(v_mean * diff_mean)
    loss_var = tf.reduce_sum(v_var * diff_var)
    metrics = {
        "loss_mean": loss_mean, "loss_var": loss_var,
        "mean_mse": tf.reduce_mean(tf.square(tf.stop_gradient(diff_mean))),
        "var_mse": tf.reduce_mean(tf.square(tf.stop_gradient(diff_var))),
    }
    return loss_mean + loss_var, metrics
