"""Tests for slt_tf.ticket.layers: the masked Keras layers and the whole-model helpers."""

import os

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from slt_tf.ticket import layers
from slt_tf.ticket import masking

# (masked class, keras class, constructor kwargs, input shape)
CASES = {
    "dense": (layers.MaskedDense, keras.layers.Dense, dict(units=13), (4, 9)),
    "dense_3d": (layers.MaskedDense, keras.layers.Dense, dict(units=5),
                 (2, 3, 7)),
    "conv_valid": (layers.MaskedConv2D, keras.layers.Conv2D,
                   dict(filters=6, kernel_size=3), (2, 9, 9, 5)),
    "conv_same_stride2": (layers.MaskedConv2D, keras.layers.Conv2D,
                          dict(filters=7, kernel_size=(3, 5), strides=2,
                               padding="same"), (2, 11, 10, 3)),
    "conv_dilated_1x1": (layers.MaskedConv2D, keras.layers.Conv2D,
                         dict(filters=4, kernel_size=1, dilation_rate=1),
                         (2, 5, 5, 6)),
    "conv_dilated": (layers.MaskedConv2D, keras.layers.Conv2D,
                     dict(filters=4, kernel_size=3, dilation_rate=2,
                          padding="same"), (2, 8, 8, 3)),
    "convT_same_stride2": (layers.MaskedConv2DTranspose,
                           keras.layers.Conv2DTranspose,
                           dict(filters=5, kernel_size=4, strides=2,
                                padding="same"), (2, 4, 4, 6)),
    "convT_valid_from_1x1": (layers.MaskedConv2DTranspose,
                             keras.layers.Conv2DTranspose,
                             dict(filters=8, kernel_size=4), (3, 1, 1, 10)),
    "convT_output_padding": (layers.MaskedConv2DTranspose,
                             keras.layers.Conv2DTranspose,
                             dict(filters=3, kernel_size=3, strides=2,
                                  output_padding=1), (2, 5, 5, 4)),
}


def _named(cases):
  return [dict(testcase_name=k, case=v) for k, v in cases.items()]


def _tiny_model(mode="ticket", keep_ratio=0.3, mask_scope="layer", seed=0):
  common = dict(mode=mode, keep_ratio=keep_ratio, mask_scope=mask_scope)
  z = keras.Input((6,))
  x = layers.MaskedDense(2 * 2 * 8, seed=seed, **common)(z)
  x = keras.layers.Reshape((2, 2, 8))(x)
  x = layers.MaskedConv2DTranspose(6, 4, strides=2, padding="same",
                                   activation="relu", seed=seed + 1, **common)(x)
  x = layers.MaskedConv2D(3, 3, padding="same", activation="tanh",
                          seed=seed + 2, **common)(x)
  return keras.Model(z, x)


class ForwardTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*_named(CASES))
  def testForward_EqualsKerasLayerWithEffectiveKernel(self, case):
    masked_cls, keras_cls, kwargs, shape = case
    x = tf.random.stateless_normal(shape, seed=[0, 1])
    layer = masked_cls(keep_ratio=0.3, seed=4, **kwargs)
    got = layer(x)
    reference = keras_cls(**kwargs)
    reference.build(shape)
    reference.set_weights([layer.effective_kernel().numpy(),
                           layer.effective_bias().numpy()])
    self.assertEqual(tuple(layer.kernel.shape), tuple(reference.kernel.shape))
    self.assertAllClose(got, reference(x), rtol=1e-5, atol=1e-6)
    self.assertEqual(layer.compute_output_shape(shape), tuple(got.shape))

  @parameterized.named_parameters(*_named(CASES))
  def testKeptCount_IsExactPerTensor(self, case):
    masked_cls, _, kwargs, shape = case
    for keep_ratio in (0.05, 0.1, 0.5, 1.0):
      layer = masked_cls(keep_ratio=keep_ratio, **kwargs)
      layer.build(shape)
      for mask, var in ((layer.mask(), layer.kernel),
                        (layer.bias_mask(), layer.bias)):
        self.assertEqual(float(tf.reduce_sum(mask)),
                         masking.kept_count(int(tf.size(var)), keep_ratio))

  def testEagerFunctionXla_GiveSameOutputs(self):
    model = _tiny_model()
    z = tf.random.stateless_normal([5, 6], seed=[2, 3])
    eager = model(z)
    self.assertAllClose(tf.function(model)(z), eager, atol=1e-6)
    self.assertAllClose(tf.function(model, jit_compile=True)(z), eager,
                        atol=1e-5)

  def testDenseMode_NoMask_KernelTrainable(self):
    layer = layers.MaskedDense(4, mode="dense", keep_ratio=0.1)
    layer.build((None, 3))
    self.assertIsNone(layer.scores)
    self.assertIsNone(layer.bias_scores)
    self.assertAllEqual(layer.mask(), tf.ones([3, 4]))
    self.assertCountEqual([v.name for v in layer.trainable_variables],
                          ["kernel", "bias"])

  def testFrozenMode_NoMaskNothingTrainable(self):
    layer = layers.MaskedConv2D(4, 3, mode="frozen", keep_ratio=0.1)
    x = tf.ones([1, 5, 5, 2])
    y = layer(x)
    self.assertEmpty(layer.trainable_variables)
    self.assertAllEqual(layer.effective_kernel(), layer.kernel)
    self.assertAllEqual(layer.effective_bias(), layer.bias)
    reference = keras.layers.Conv2D(4, 3)
    reference.build(x.shape)
    reference.set_weights([layer.kernel.numpy(), layer.bias.numpy()])
    self.assertAllClose(y, reference(x), atol=1e-6)

  def testMaskBiasFalse_BiasFrozenAndUnmasked(self):
    layer = layers.MaskedDense(4, mask_bias=False, keep_ratio=0.1)
    layer.build((None, 3))
    self.assertIsNone(layer.bias_scores)
    self.assertAllEqual(layer.effective_bias(), layer.bias)
    self.assertEqual([v.name for v in layer.trainable_variables], ["scores"])

  def testNoBias_NoBiasVariables(self):
    layer = layers.MaskedConv2D(4, 3, use_bias=False)
    layer.build((None, 5, 5, 2))
    self.assertIsNone(layer.effective_bias())
    self.assertIsNone(layer.bias_mask())
    self.assertCountEqual([v.name for v in layer.weights], ["kernel", "scores"])


class TrainingTest(tf.test.TestCase):

  def testTicketMode_OnlyScoresAreTrainable(self):
    model = _tiny_model()
    names = [v.name for v in model.trainable_variables]
    self.assertNotEmpty(names)
    self.assertTrue(all("scores" in n for n in names), names)
    frozen = [v.name for v in model.non_trainable_variables]
    self.assertCountEqual(frozen, ["kernel", "bias"] * 3)

  def testAdamSteps_KernelsBitIdentical_ScoresAndMasksMove(self):
    model = _tiny_model()
    frozen_before = [v.numpy().copy() for v in model.non_trainable_variables]
    scores_before = [v.numpy().copy() for v in model.trainable_variables]
    masks_before = [l.mask().numpy() for l in layers.masked_layers(model)]
    optimizer = keras.optimizers.Adam(0.05)
    z = tf.random.stateless_normal([8, 6], seed=[4, 5])

    @tf.function
    def step():
      with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(z, training=True) - 0.5))
      grads = tape.gradient(loss, model.trainable_variables)
      optimizer.apply_gradients(zip(grads, model.trainable_variables))
      return loss

    for _ in range(5):
      step()
    for before, var in zip(frozen_before, model.non_trainable_variables):
      np.testing.assert_array_equal(before, var.numpy())
    for before, var in zip(scores_before, model.trainable_variables):
      self.assertNotAllEqual(before, var.numpy())
    masks_after = [l.mask().numpy() for l in layers.masked_layers(model)]
    self.assertTrue(any((a != b).any() for a, b in zip(masks_before,
                                                      masks_after)))

  def testGradients_MatchNumpyStraightThrough(self):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7)).astype(np.float32)
    upstream = rng.standard_normal((5, 3)).astype(np.float32)
    layer = layers.MaskedDense(3, keep_ratio=0.4, seed=9)
    layer.build((None, 7))
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(layer(x) * upstream)
    g_scores, g_bias_scores = tape.gradient(
        loss, [layer.scores, layer.bias_scores])
    w, s = layer.kernel.numpy(), layer.scores.numpy()
    b, bs = layer.bias.numpy(), layer.bias_scores.numpy()
    self.assertAllClose(g_scores, (x.T @ upstream) * w * np.sign(s),
                        rtol=1e-5, atol=1e-6)
    self.assertAllClose(g_bias_scores, upstream.sum(0) * b * np.sign(bs),
                        rtol=1e-5, atol=1e-6)

  def testDenseMode_TrainsKernels(self):
    model = _tiny_model(mode="dense")
    names = {v.name for v in model.trainable_variables}
    self.assertEqual(names, {"kernel", "bias"})
    z = tf.ones([2, 6])
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(model(z))
    grads = tape.gradient(loss, model.trainable_variables)
    self.assertTrue(all(g is not None for g in grads))


class GlobalScopeTest(tf.test.TestCase):

  def testUpdateGlobalThresholds_KeepsExactTotalAcrossLayers(self):
    model = _tiny_model(mask_scope="global", keep_ratio=0.2)
    masked = layers.masked_layers(model)
    threshold = layers.update_global_thresholds(model)
    kept = sum(float(tf.reduce_sum(m)) for l in masked
               for m in (l.mask(), l.bias_mask()))
    total = sum(int(tf.size(v)) for l in masked for v in l.score_variables())
    self.assertEqual(kept, masking.kept_count(total, 0.2))
    all_scores = np.concatenate([np.abs(v.numpy()).ravel() for l in masked
                                 for v in l.score_variables()])
    self.assertEqual(float(threshold),
                     np.sort(all_scores)[::-1][int(kept) - 1])
    # Layers differ in size, so a shared threshold gives unequal fractions.
    fractions = layers.kept_fractions(model)
    self.assertLen(set(round(f, 4) for f in fractions.values()), 3)

  def testNeverUpdated_FallsBackToPerLayerTopK(self):
    model = _tiny_model(mask_scope="global", keep_ratio=0.2)
    for layer in layers.masked_layers(model):
      self.assertEqual(float(tf.reduce_sum(layer.mask())),
                       masking.kept_count(int(tf.size(layer.kernel)), 0.2))

  def testUpdateInsideTfFunction_TakesEffectInSameStep(self):
    model = _tiny_model(mask_scope="global", keep_ratio=0.2)
    z = tf.ones([1, 6])

    @tf.function
    def forward():
      layers.update_global_thresholds(model)
      return model(z)

    out = forward()
    self.assertAllClose(out, model(z))
    self.assertGreaterEqual(float(model.layers[1].score_threshold), 0.0)

  def testNoGlobalLayers_Raises(self):
    with self.assertRaisesRegex(ValueError, "mask_scope='global'"):
      layers.update_global_thresholds(_tiny_model())

  def testMixedKeepRatios_RequireExplicitRatio(self):
    a = layers.MaskedDense(3, mask_scope="global", keep_ratio=0.1)
    b = layers.MaskedDense(3, mask_scope="global", keep_ratio=0.2)
    a.build((None, 4))
    b.build((None, 3))
    with self.assertRaisesRegex(ValueError, "disagree"):
      layers.update_global_thresholds([a, b])
    layers.update_global_thresholds([a, b], keep_ratio=0.5)


class SerializationTest(tf.test.TestCase):

  def testSaveAndLoadKeras_IdenticalOutputsAndConfig(self):
    model = _tiny_model(seed=21)
    z = tf.random.stateless_normal([4, 6], seed=[6, 7])
    path = os.path.join(self.get_temp_dir(), "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    self.assertAllEqual(loaded(z), model(z))
    for a, b in zip(layers.masked_layers(model), layers.masked_layers(loaded)):
      self.assertEqual(a.get_config(), b.get_config())

  def testFromConfig_RegeneratesSameRandomWeights(self):
    layer = layers.MaskedConv2DTranspose(4, 3, strides=2, keep_ratio=0.25,
                                         weight_init="normal_0.02")
    layer.build((None, 3, 3, 5))
    clone = layers.MaskedConv2DTranspose.from_config(layer.get_config())
    clone.build((None, 3, 3, 5))
    for a, b in zip(layer.weights, clone.weights):
      self.assertAllEqual(a, b)

  def testSeedNone_IsDrawnAndRecorded(self):
    a, b = layers.MaskedDense(3), layers.MaskedDense(3)
    self.assertIsInstance(a.get_config()["seed"], int)
    self.assertNotEqual(a.seed, b.seed)


class BadArgumentTest(parameterized.TestCase):

  @parameterized.parameters(0, -0.5, 1.5, float("nan"), "0.1", None)
  def testBadKeepRatio_RaisesNamingKeepRatio(self, value):
    with self.assertRaisesRegex(ValueError, "keep_ratio"):
      layers.MaskedConv2D(4, 3, keep_ratio=value)

  @parameterized.parameters(("mode", "sparse"), ("mask_scope", "model"),
                            ("selection", "sort"),
                            ("weight_init", "xavier"),
                            ("score_init", "normal"), ("padding", "full"))
  def testBadChoice_RaisesNamingArgument(self, arg, value):
    with self.assertRaisesRegex(ValueError, arg):
      layers.MaskedConv2D(4, 3, **{arg: value})


if __name__ == "__main__":
  tf.test.main()
