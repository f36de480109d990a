"""Tests for slt_tf.ticket.masking: exact top-k selection and the straight-through gradient."""

from fractions import Fraction
import math

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from slt_tf.ticket import masking

METHODS = ("nth_element", "sampled", "bisection")


def reference_kept(n, keep_ratio):
  """n - floor((1 - k) n) in exact decimal arithmetic."""
  return n - math.floor((1 - Fraction(str(keep_ratio))) * n)


def reference_mask(scores, keep_ratio):
  """Keeps the kept_count largest |scores| (NumPy sort; no ties in the inputs)."""
  flat = np.abs(scores).ravel()
  k = reference_kept(flat.size, keep_ratio)
  mask = np.zeros(flat.size, np.float32)
  mask[np.argsort(-flat, kind="stable")[:k]] = 1.0
  return mask.reshape(scores.shape)


class KeptCountTest(parameterized.TestCase):

  def testKeptCount_MatchesExactDecimalArithmetic(self):
    for n in (1, 2, 7, 10, 97, 1000, 4099, 1179648):
      for k in (0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.77, 0.9, 0.99, 1.0):
        self.assertEqual(masking.kept_count(n, k), reference_kept(n, k),
                         msg=f"n={n} k={k}")

  def testKeptCount_AgainstTheAuthorsRule_DiffersOnlyOnExactProducts(self):
    """The authors prune ``int((1 - k) * n)`` in binary floating point. Where
    the exact product (1 - k) n is an integer, binary rounding can land just
    below it, and they keep one more; nowhere else do the rules differ."""
    differ = []
    for n in range(1, 3000):
      for k in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.123):
        authors = n - int((1 - k) * n)
        ours = masking.kept_count(n, k)
        if ours != authors:
          self.assertEqual(authors - ours, 1, msg=f"n={n} k={k}")
          self.assertEqual(((1 - Fraction(str(k))) * n).denominator, 1,
                           msg=f"n={n} k={k}")
          differ.append((n, k))
    # The cases this module's comment names: 0.7 of 10 agrees (both keep 7),
    # 0.3 of 90 does not (the authors keep 28, we keep 27).
    self.assertEqual((masking.kept_count(10, 0.7), 10 - int((1 - 0.7) * 10)),
                     (7, 7))
    self.assertIn((90, 0.3), differ)
    self.assertEqual(masking.kept_count(90, 0.3), 27)

  @parameterized.parameters(0, 0.0, -0.1, 1.0001, 2, float("nan"),
                            float("inf"), "0.5", None, True)
  def testValidateKeepRatio_BadValue_RaisesNamingFlag(self, value):
    with self.assertRaisesRegex(ValueError, "keep_ratio"):
      masking.validate_keep_ratio(value)

  def testValidateKeepRatio_CustomName_AppearsInMessage(self):
    with self.assertRaisesRegex(ValueError, "--keep_ratio"):
      masking.validate_keep_ratio(0, name="--keep_ratio")


class TopkMaskTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.product(method=METHODS, n=(1, 7, 97, 1000, 4099, 70001),
                         keep_ratio=(0.05, 0.1, 0.5, 0.77, 1.0))
  def testHardMask_ContinuousScores_EqualsNumpyTopK(self, method, n, keep_ratio):
    rng = np.random.default_rng(n)
    scores = rng.standard_normal(n).astype(np.float32)
    mask = masking.hard_topk_mask(np.abs(scores), keep_ratio, method).numpy()
    np.testing.assert_array_equal(mask, reference_mask(scores, keep_ratio))

  @parameterized.product(method=METHODS, shape=((3, 3, 5, 7), (11, 13), (70001,)))
  def testHardMask_HeavyTies_KeepsExactCountAndOrder(self, method, shape):
    rng = np.random.default_rng(0)
    # Seven distinct magnitudes only: the threshold always falls inside a tie.
    scores = rng.integers(-3, 4, size=shape).astype(np.float32)
    for keep_ratio in (0.1, 0.33, 0.5, 0.9):
      mask = masking.hard_topk_mask(np.abs(scores), keep_ratio, method).numpy()
      k = reference_kept(scores.size, keep_ratio)
      self.assertEqual(mask.sum(), k)
      kept, dropped = np.abs(scores)[mask == 1], np.abs(scores)[mask == 0]
      if dropped.size:
        self.assertGreaterEqual(kept.min(), dropped.max())

  def testSampled_UnrepresentativeSample_FallsBackToExactAnswer(self):
    n = 100_000
    values = np.random.default_rng(1).uniform(0, 1, n).astype(np.float32)
    stride = n // masking._SAMPLE_SIZE  # pylint: disable=protected-access
    values[::stride] += 10.0  # the strided sample sees only huge values
    for keep_ratio in (0.01, 0.1, 0.5):
      k = masking.kept_count(n, keep_ratio)
      got = masking.kth_largest(tf.constant(values), k, "sampled")
      self.assertEqual(float(got), float(np.sort(values)[::-1][k - 1]))

  @parameterized.parameters("auto", "bisection")
  def testTopkMask_UnderXla_MatchesEagerNthElement(self, method):
    scores = tf.random.stateless_normal([3, 3, 16, 32], seed=[1, 2])
    fn = tf.function(lambda s: masking.topk_mask(s, 0.1, method),
                     jit_compile=True)
    self.assertAllEqual(fn(scores), masking.topk_mask(scores, 0.1,
                                                      "nth_element"))
    ties = tf.round(scores * 2.0)
    self.assertEqual(float(tf.reduce_sum(fn(ties))),
                     masking.kept_count(int(tf.size(ties)), 0.1))

  def testAuto_OutsideXla_PicksSampledForLargeTensors(self):
    self.assertEqual(masking.resolve_method("auto", 10**6), "sampled")
    self.assertEqual(masking.resolve_method("auto", 100), "nth_element")

  @parameterized.parameters(("/device:GPU:0", "bisection"),
                            ("/job:localhost/replica:0/task:0/device:GPU:1",
                             "bisection"),
                            ("/device:CPU:0", "sampled"))
  def testAuto_InAGraphPlacedOnADevice_PicksAMethodWithAKernelThere(
      self, device, expected):
    # Tracing needs no such device: the scope is only recorded in the graph.
    resolved = []

    @tf.function
    def trace():
      with tf.device(device):
        resolved.append(masking.resolve_method("auto", 10**6))
      return tf.constant(0)

    trace.get_concrete_function()
    self.assertEqual(resolved, [expected])

  def testAuto_OnAGpu_BuildsNoNthElement(self):
    @tf.function
    def select(scores):
      with tf.device("/device:GPU:0"):
        return masking.topk_mask(scores, 0.1)

    graph = select.get_concrete_function(
        tf.TensorSpec([100_000], tf.float32)).graph
    types = {op.type for op in graph.get_operations()}
    for function in graph._functions.values():  # pylint: disable=protected-access
      types |= {node.op for node in function.definition.node_def}
    self.assertNotIn("NthElement", types)
    self.assertIn("Bitcast", types)  # the bisection's

  @parameterized.product(context=("eager", "function", "xla"),
                         method=METHODS)
  def testEveryMethod_SameMaskBitForBit_WithAndWithoutTies(self, context,
                                                            method):
    if context == "xla" and method != "bisection":
      self.skipTest("NthElement does not compile under XLA")
    rng = np.random.default_rng(3)
    continuous = rng.standard_normal(70001).astype(np.float32)
    tied = rng.integers(-3, 4, size=70001).astype(np.float32)
    # The tie rule: among equal magnitudes, the first in flat order are kept.
    k = masking.kept_count(tied.size, 0.1)
    order = np.lexsort((np.arange(tied.size), -np.abs(tied)))
    tied_expected = np.zeros(tied.size, np.float32)
    tied_expected[order[:k]] = 1
    select = lambda s: masking.topk_mask(s, 0.1, method)
    if context != "eager":
      select = tf.function(select, jit_compile=context == "xla")
    np.testing.assert_array_equal(select(tf.constant(continuous)).numpy(),
                                  reference_mask(continuous, 0.1))
    np.testing.assert_array_equal(select(tf.constant(tied)).numpy(),
                                  tied_expected)

  def testUnknownMethod_Raises(self):
    with self.assertRaisesRegex(ValueError, "selection method"):
      masking.hard_topk_mask(tf.ones([4]), 0.5, "sort")

  def testStraightThrough_Gradient_IsUpstreamTimesWeightTimesSign(self):
    rng = np.random.default_rng(3)
    scores = tf.Variable(rng.standard_normal((6, 5)).astype(np.float32))
    weights = rng.standard_normal((6, 5)).astype(np.float32)
    upstream = rng.standard_normal((6, 5)).astype(np.float32)
    with tf.GradientTape() as tape:
      effective = weights * masking.topk_mask(scores, 0.3)
      loss = tf.reduce_sum(effective * upstream)
    grad = tape.gradient(loss, scores).numpy()
    expected = upstream * weights * np.sign(scores.numpy())
    self.assertAllClose(grad, expected, rtol=1e-6, atol=1e-7)
    # The forward value is still the hard mask.
    self.assertAllEqual(masking.topk_mask(scores, 0.3),
                        reference_mask(scores.numpy(), 0.3))

  def testThresholdMask_GradientIsStraightThrough(self):
    scores = tf.Variable([[-0.5, 0.2], [0.9, -0.05]])
    with tf.GradientTape() as tape:
      mask = masking.threshold_mask(scores, 0.3)
      loss = tf.reduce_sum(mask * tf.constant([[1.0, 2.0], [3.0, 4.0]]))
    self.assertAllEqual(mask, [[1.0, 0.0], [1.0, 0.0]])
    self.assertAllEqual(tape.gradient(loss, scores), [[-1.0, 2.0], [3.0, -4.0]])


class GlobalThresholdTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(*METHODS)
  def testGlobalThreshold_KeepsExactTotal(self, method):
    rng = np.random.default_rng(5)
    tensors = [rng.standard_normal(s).astype(np.float32)
               for s in ((3, 3, 8, 16), (100,), (17, 29), (70000,))]
    total = sum(t.size for t in tensors)
    for keep_ratio in (0.05, 0.1, 0.5):
      threshold = float(masking.global_threshold(tensors, keep_ratio, method))
      kept = sum(int((np.abs(t) >= threshold).sum()) for t in tensors)
      self.assertEqual(kept, reference_kept(total, keep_ratio))
      everything = np.sort(np.concatenate([np.abs(t).ravel() for t in tensors]))
      self.assertEqual(threshold, everything[::-1][kept - 1])

  def testGlobalThreshold_KeepAll_IsZero(self):
    self.assertEqual(float(masking.global_threshold([tf.ones([3])], 1.0)), 0.0)

  def testGlobalThreshold_NoTensors_Raises(self):
    with self.assertRaisesRegex(ValueError, "at least one"):
      masking.global_threshold([], 0.1)


if __name__ == "__main__":
  tf.test.main()
