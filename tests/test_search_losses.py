"""Moment matching and global-batch moments, against NumPy and closed forms."""

import numpy as np
import tensorflow as tf

from slt_tf import replica
from slt_tf.search import distribution
from slt_tf.search import losses
from slt_tf.search import state as state_lib


def numpy_adam_ama(value, m, v, t, target, lr=1e-5, b1=0.5, b2=0.999,
                   eps=1e-8):
  """One step of PyTorch's Adam on mean((value - target)^2), in float64."""
  grad = 2.0 * (value - target) / value.size
  t += 1
  m = b1 * m + (1 - b1) * grad
  v = b2 * v + (1 - b2) * grad ** 2
  denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
  return value - lr / (1 - b1 ** t) * m / denom, m, v, t


def two_cpu_strategy():
  devices = [d.name for d in tf.config.list_logical_devices("CPU")[:2]]
  return distribution.mirrored_strategy(devices)


class AdamMovingAverageTest(tf.test.TestCase):

  def testFirstStep_MovesEveryEntryByTheLearningRateTowardTheTarget(self):
    # Adam's first step is lr * sign(-grad) whatever the gradient's size.
    ama = losses.AdamMovingAverage(4, learning_rate=1e-3)
    value = ama.update([3.0, -2.0, 1e-4, -7.0]).numpy()
    self.assertAllClose(value, [1e-3, -1e-3, 1e-3, -1e-3], rtol=1e-4)

  def testSeveralSteps_MatchPyTorchAdamInNumPy(self):
    rng = np.random.default_rng(0)
    ama = losses.AdamMovingAverage(6, learning_rate=0.05)
    value, m, v, t = np.zeros(6), np.zeros(6), np.zeros(6), 0
    for _ in range(5):
      target = rng.normal(size=6)
      got = ama.update(target.astype(np.float32)).numpy()
      value, m, v, t = numpy_adam_ama(value, m, v, t, target, lr=0.05)
      self.assertAllClose(got, value, rtol=1e-5, atol=1e-7)


  def testScheduledLearningRate_EachUpdateUsesItsStepsRate(self):
    """The authors' cosine cycle on the moving averages: update t (from 0)
    takes the rate of PyTorch's CosineAnnealingLR after t scheduler steps,
    ``lr * (1 + cos(pi t / 10)) / 2`` (closed form, eta_min 0)."""
    rng = np.random.default_rng(1)
    peak = 0.05
    ama = losses.AdamMovingAverage(
        6, learning_rate=state_lib.CosineCycle(peak))
    value, m, v, t = np.zeros(6), np.zeros(6), np.zeros(6), 0
    for step in range(23):
      target = rng.normal(size=6)
      got = ama.update(target.astype(np.float32)).numpy()
      lr = peak * (1 + np.cos(np.pi * step / 10)) / 2
      value, m, v, t = numpy_adam_ama(value, m, v, t, target, lr=lr)
      # float32 against float64 over 23 steps: entries near zero drift by
      # about 1e-7.
      self.assertAllClose(got, value, rtol=1e-4, atol=1e-6, msg=step)


class MomentMatchingTest(tf.test.TestCase):

  def testAmaInit_ZerosOrPyTorchLinearUniformSeeded(self):
    dim = 400
    mean, var = np.zeros(dim, np.float32), np.ones(dim, np.float32)
    zeros = losses.MomentMatching(mean, var)
    self.assertAllEqual(zeros.ama_mean.value, np.zeros(dim))
    uniform = losses.MomentMatching(mean, var, ama_init="uniform", seed=3)
    bound = 1 / np.sqrt(dim)
    for ama in (uniform.ama_mean, uniform.ama_var):
      value = ama.value.numpy()
      self.assertLessEqual(np.abs(value).max(), bound)
      # U(-b, b) has standard deviation b / sqrt(3).
      self.assertAllClose(value.std(), bound / np.sqrt(3), rtol=0.15)
      self.assertAllEqual(ama.m, np.zeros(dim))
    self.assertNotAllEqual(uniform.ama_mean.value, uniform.ama_var.value)
    again = losses.MomentMatching(mean, var, ama_init="uniform", seed=3)
    self.assertAllEqual(again.ama_mean.value, uniform.ama_mean.value)
    with self.assertRaisesRegex(ValueError, "^ama_init must be one of"):
      losses.MomentMatching(mean, var, ama_init="normal")

  def testLossAndGradient_MatchNumPy(self):
    rng = np.random.default_rng(1)
    b, d = 8, 5
    real_mean, real_var = rng.normal(size=d), rng.uniform(0.5, 2, size=d)
    objective = losses.MomentMatching(real_mean, real_var,
                                      ama_learning_rate=0.01)
    state = [np.zeros(d), np.zeros(d), np.zeros(d), 0]
    state_var = [np.zeros(d), np.zeros(d), np.zeros(d), 0]
    for _ in range(3):
      f = rng.normal(size=(b, d)) * 1.5 + 0.3
      x = tf.constant(f, tf.float32)
      with tf.GradientTape() as tape:
        tape.watch(x)
        loss, metrics = objective(x)
      grad = tape.gradient(loss, x).numpy()

      mu, var = f.mean(0), f.var(0, ddof=1)
      state = list(numpy_adam_ama(*state, real_mean - mu, lr=0.01))
      state_var = list(numpy_adam_ama(*state_var, real_var - var, lr=0.01))
      v_mu, v_var = state[0], state_var[0]
      expected_loss = v_mu @ (real_mean - mu) + v_var @ (real_var - var)
      expected_grad = -v_mu / b - v_var * 2 * (f - mu) / (b - 1)
      self.assertAllClose(loss.numpy(), expected_loss, rtol=1e-4, atol=1e-7)
      self.assertAllClose(grad, expected_grad, rtol=1e-4, atol=1e-8)
      self.assertAllClose(metrics["mean_mse"], np.mean((real_mean - mu) ** 2),
                          rtol=1e-5)
      self.assertAllClose(metrics["var_mse"], np.mean((real_var - var) ** 2),
                          rtol=1e-5)

  def testTwoReplicas_SameLossAndSummedGradientAsOneReplica(self):
    rng = np.random.default_rng(2)
    b, d = 8, 6
    features = tf.constant(rng.normal(size=(b, d)), tf.float32)
    weight = rng.normal(size=(d, d)).astype(np.float32)
    real_mean, real_var = rng.normal(size=d), rng.uniform(0.5, 2, size=d)

    def run(strategy):
      with strategy.scope():
        w = tf.Variable(weight)
        objective = losses.MomentMatching(real_mean, real_var,
                                          ama_learning_rate=0.01)
      replicas = strategy.num_replicas_in_sync

      @tf.function
      def step():
        def fn():
          ctx = tf.distribute.get_replica_context()
          n = b // replicas
          local = features[ctx.replica_id_in_sync_group * n:][:n]
          with tf.GradientTape() as tape:
            loss, _ = objective(tf.matmul(local, w))
            scaled = loss / replicas
          return loss, tape.gradient(scaled, w)
        loss, grad = strategy.run(fn)
        return (strategy.experimental_local_results(loss),
                strategy.reduce(tf.distribute.ReduceOp.SUM, grad, axis=None),
                objective.ama_mean.value.read_value())
      return step()

    losses_1, grad_1, ama_1 = run(tf.distribute.get_strategy())
    losses_2, grad_2, ama_2 = run(two_cpu_strategy())
    self.assertLen(losses_2, 2)
    for value in losses_2:
      self.assertAllClose(value, losses_1[0], rtol=1e-5)
    self.assertAllClose(grad_2, grad_1, rtol=1e-4, atol=1e-7)
    self.assertAllClose(ama_2, ama_1, rtol=1e-6)


class ReplicaMomentsTest(tf.test.TestCase):

  def testSplitBatch_MomentsOfTheGlobalBatch(self):
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(6, 3, 2, 4)) * 3 + 1, tf.float32)
    strategy = two_cpu_strategy()

    @tf.function
    def per_replica():
      def fn():
        ctx = tf.distribute.get_replica_context()
        return replica.moments(x[ctx.replica_id_in_sync_group * 3:][:3],
                               axes=(0, 1, 2), ddof=1)
      return strategy.run(fn)

    mean, var = per_replica()
    for m, v in zip(strategy.experimental_local_results(mean),
                    strategy.experimental_local_results(var)):
      self.assertAllClose(m, x.numpy().mean(axis=(0, 1, 2)), rtol=1e-5)
      self.assertAllClose(
          v, x.numpy().reshape(-1, 4).var(axis=0, ddof=1), rtol=1e-5)

  def testOneDevice_NumPyMoments(self):
    x = np.random.default_rng(4).normal(size=(10, 7))
    mean, var = replica.moments(tf.constant(x), axes=(0,), ddof=0)
    self.assertAllClose(mean, x.mean(0))
    self.assertAllClose(var, x.var(0))


if __name__ == "__main__":
  tf.test.main()
