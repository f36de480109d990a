"""Tests for slt_tf.precision and the masked layers under its policies."""

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from slt_tf import precision
from slt_tf.ticket import layers


class PolicyTest(parameterized.TestCase):

  @parameterized.parameters(("float32", "float32"),
                            ("bfloat16", "mixed_bfloat16"),
                            ("float16", "mixed_float16"))
  def testPolicyScope_LayersBuiltInsideTakeIt_RestoredAfter(self, name,
                                                              policy):
    before = keras.config.dtype_policy().name
    with precision.policy_scope(name):
      inside = keras.layers.Dense(2)
    self.assertEqual(inside.dtype_policy.name, policy)
    self.assertEqual(keras.config.dtype_policy().name, before)
    self.assertEqual(keras.layers.Dense(2).dtype_policy.name, before)

  def testPolicyScope_RestoredWhenTheBuildRaises(self):
    before = keras.config.dtype_policy().name
    with self.assertRaises(RuntimeError):
      with precision.policy_scope("bfloat16"):
        raise RuntimeError("build failed")
    self.assertEqual(keras.config.dtype_policy().name, before)

  def testUnknownPrecision_RaisesNamingTheChoices(self):
    with self.assertRaisesRegex(ValueError, "precision must be one of"):
      precision.policy_name("int8")

  def testFloat16_LossScaled_CheckpointStoresTheInnerOptimizer(self):
    adam = keras.optimizers.Adam(1e-3)
    wrapped = precision.wrap_optimizer(adam, "float16")
    self.assertIsInstance(wrapped, keras.optimizers.LossScaleOptimizer)
    self.assertIs(precision.checkpointed(wrapped), adam)
    self.assertEqual(float(wrapped.scale_loss(tf.constant(1.0))), 2.0**15)
    for name in ("float32", "bfloat16"):
      self.assertIs(precision.wrap_optimizer(adam, name), adam)
      self.assertIs(precision.checkpointed(adam), adam)


class MaskedLayerPrecisionTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters("bfloat16", "float16")
  def testMaskedConv_LowPrecision_ConvInItMaskAndVariablesFloat32(self, name):
    x = tf.random.stateless_normal([4, 8, 8, 16], seed=[0, 1])
    full = layers.MaskedConv2D(32, 3, padding="same", keep_ratio=0.1, seed=3)
    with precision.policy_scope(name):
      low = layers.MaskedConv2D(32, 3, padding="same", keep_ratio=0.1, seed=3)
    want, got = full(x), low(x)
    self.assertEqual(got.dtype, tf.as_dtype(name))
    for variable in low.weights:
      self.assertEqual(variable.dtype, "float32", msg=variable.path)
    # The mask is computed from the float32 scores, so it is the same mask.
    self.assertAllEqual(low.mask(), full.mask())
    self.assertEqual(low.mask().dtype, tf.float32)
    # Within the low precision's rounding of inputs, kernel and products.
    eps = 2.0**-8 if name == "bfloat16" else 2.0**-11
    scale = float(tf.reduce_max(tf.abs(want)))
    self.assertAllClose(tf.cast(got, tf.float32), want, rtol=0,
                        atol=30 * eps * scale)
    self.assertNotAllEqual(tf.cast(got, tf.float32), want)

  def testMaskedDense_Bfloat16_GradientReachesFloat32Scores(self):
    with precision.policy_scope("bfloat16"):
      layer = layers.MaskedDense(8, keep_ratio=0.5, seed=1)
    x = tf.ones([2, 16])
    with tf.GradientTape() as tape:
      y = tf.reduce_sum(tf.cast(layer(x), tf.float32))
    grads = tape.gradient(y, layer.trainable_variables)
    self.assertLen(grads, 2)  # Scores and bias scores only.
    for g in grads:
      self.assertEqual(g.dtype, tf.float32)
      self.assertGreater(float(tf.reduce_sum(tf.abs(g))), 0.0)


if __name__ == "__main__":
  tf.test.main()
