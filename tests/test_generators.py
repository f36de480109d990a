"""Tests for slt_tf.generators: structure, ticket semantics, counts, serialization."""

import os
import re

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from slt_tf import generators
from slt_tf.ticket import layers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Tiny widths: these tests check structure, not capacity.
TINY = {"gfmn": 4, "sngan": 8, "biggan": 2}
CASES = [dict(testcase_name=f"{a}_{r}", arch=a, resolution=r)
         for a in generators.ARCHS for r in (32, 64)]


def tiny(arch, resolution, **kwargs):
  return generators.build(arch, resolution=resolution, width=TINY[arch],
                          **kwargs)


def latent(arch, batch=3, seed=0):
  return tf.random.stateless_normal([batch, generators.default_nz(arch)],
                                    seed=[seed, 1])


class StructureTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*CASES)
  def testOutput_ShapeAndTanhRange(self, arch, resolution):
    model = tiny(arch, resolution)
    for training in (True, False):
      images = model(latent(arch), training=training).numpy()
      self.assertEqual(images.shape, (3, resolution, resolution, 3))
      self.assertLessEqual(np.abs(images).max(), 1.0)
      self.assertGreater(images.std(), 0.0)

  @parameterized.named_parameters(*CASES)
  def testEveryKernel_IsMasked_AndBatchNormAffineFrozen(self, arch, resolution):
    model = tiny(arch, resolution)
    plain = (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose,
             keras.layers.Embedding)
    all_layers = list(model._flatten_layers(include_self=False, recursive=True))  # pylint: disable=protected-access
    offenders = [l.name for l in all_layers if isinstance(l, plain)]
    self.assertEmpty(offenders)
    self.assertGreater(len(layers.masked_layers(model)), 5)
    for layer in all_layers:
      if isinstance(layer, keras.layers.BatchNormalization):
        self.assertFalse(layer.center or layer.scale, layer.name)
    # No variable outside masked layers and BN statistics: every weight that
    # could be trained is a masked kernel or bias.
    for var in model.weights:
      leaf = var.path.split("/")[-1]
      self.assertIn(leaf, {"kernel", "bias", "scores", "bias_scores", "sn_u",
                           "moving_mean", "moving_variance", "gamma"},
                    var.path)

  @parameterized.named_parameters(*CASES)
  def testTicketMode_TrainsOnlyScores(self, arch, resolution):
    model = tiny(arch, resolution)
    names = [v.path for v in model.trainable_variables]
    self.assertNotEmpty(names)
    self.assertTrue(all(n.endswith("scores") for n in names), names)
    n_masked = len(layers.masked_layers(model))
    self.assertLen([n for n in names if n.endswith("/scores")], n_masked)

  @parameterized.named_parameters(*CASES)
  def testDenseMode_TrainsKernelsNoScores(self, arch, resolution):
    model = tiny(arch, resolution, mode="dense")
    leaves = {v.path.split("/")[-1] for v in model.trainable_variables}
    self.assertIn("kernel", leaves)
    self.assertNotIn("scores", {v.path.split("/")[-1] for v in model.weights})
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(model(latent(arch), training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    self.assertTrue(all(g is not None for g in grads))

  @parameterized.named_parameters(*CASES)
  def testFirstAndLastDense_KeepThoseLayersWhole(self, arch, resolution):
    model = tiny(arch, resolution, first_dense=True, last_dense=True,
                 keep_ratio=0.2)
    masked = layers.masked_layers(model)
    by_name = {l.name: l for l in masked}
    for name in ("stem", "to_rgb"):
      layer = by_name[name]
      self.assertEqual(layer.mode, "frozen")
      self.assertIsNone(layer.scores)
      self.assertAllEqual(layer.mask(), tf.ones_like(layer.kernel))
    others = [l for l in masked if l.name not in ("stem", "to_rgb")]
    self.assertTrue(all(l.mode == "ticket" for l in others))
    self.assertTrue(all(v.path.endswith("scores")
                        for v in model.trainable_variables))

  def testDenseWholeFrozen_TheDenseControlKeepsTheWholeLayersFrozen(self):
    names = ("stem", "to_rgb")
    trained = tiny("sngan", 32, mode="dense", first_dense=True,
                   last_dense=True)
    frozen = tiny("sngan", 32, mode="dense", first_dense=True,
                  last_dense=True, dense_whole_frozen=True)
    modes = lambda m: {l.name: l.mode for l in layers.masked_layers(m)}
    self.assertEqual({modes(trained)[n] for n in names}, {"dense"})
    self.assertEqual({modes(frozen)[n] for n in names}, {"frozen"})
    self.assertEqual({m for n, m in modes(frozen).items() if n not in names},
                     {"dense"})
    trainable = {v.path for v in frozen.trainable_variables}
    self.assertFalse([p for p in trainable
                      if p.split("/")[0] in names], trainable)
    self.assertLess(len(frozen.trainable_variables),
                    len(trained.trainable_variables))
    # The same random weights either way: only what is trained differs.
    z = latent("sngan")
    self.assertAllEqual(trained(z, training=False), frozen(z, training=False))
    # A ticket's whole layers are frozen with or without the option.
    ticket = tiny("sngan", 32, last_dense=True, dense_whole_frozen=True)
    self.assertEqual(modes(ticket)["to_rgb"], "frozen")

  @parameterized.parameters("gfmn", "sngan")
  def testBnAffine_AuthorsDrawFrozenForATicketTrainedForDense(self, arch):
    ticket = tiny(arch, 32, bn_affine=True, seed=3)
    dense = tiny(arch, 32, bn_affine=True, seed=3, mode="dense")
    plain = tiny(arch, 32, seed=3)
    norms = lambda m: [l for l in m.layers
                       if isinstance(l, tf.keras.layers.Layer)
                       and l.__class__.__name__ == "AffineBatchNorm"]
    affine = norms(ticket)
    self.assertGreaterEqual(len(affine), 3)
    gammas = np.concatenate([l.gamma.numpy() for l in affine])
    self.assertAllClose(gammas.mean(), 1.0, atol=4 * 0.02 / np.sqrt(
        gammas.size))
    self.assertAllClose(gammas.std(), 0.02, rtol=0.5)
    self.assertFalse(np.concatenate([l.beta.numpy() for l in affine]).any())
    # Frozen for the ticket (its scores only), trained for dense.
    self.assertTrue(all(v.path.endswith("scores")
                        for v in ticket.trainable_variables))
    affine_paths = {v.path for l in norms(dense) for v in (l.gamma, l.beta)}
    self.assertTrue(affine_paths <= {v.path
                                     for v in dense.trainable_variables})
    # The same draw for the same seed; no masked layer's seed moved.
    self.assertAllEqual(gammas, np.concatenate(
        [l.gamma.numpy() for l in norms(tiny(arch, 32, bn_affine=True,
                                             seed=3))]))
    for a, b in zip(layers.masked_layers(ticket), layers.masked_layers(plain)):
      self.assertAllEqual(a.kernel, b.kernel)
    # Batch statistics in training calls even with the affine frozen.
    z = latent(arch, batch=4)
    self.assertNotAllClose(ticket(z, training=True),
                           ticket(z, training=False))
    with self.assertRaisesRegex(ValueError, "^bn_affine: BigGAN"):
      tiny("biggan", 32, bn_affine=True)

  @parameterized.named_parameters(*CASES)
  def testSameSeed_SameNetwork_OtherSeed_Differs(self, arch, resolution):
    z = latent(arch)
    a = tiny(arch, resolution, seed=3)(z, training=False)
    b = tiny(arch, resolution, seed=3)(z, training=False)
    c = tiny(arch, resolution, seed=4)(z, training=False)
    self.assertAllEqual(a, b)
    self.assertNotAllClose(a, c)

  def testBatchNorm_MovingStatisticsUpdateInTrainingOnly(self):
    model = tiny("sngan", 32)
    bn = model.get_layer("out_bn")
    before = bn.moving_mean.numpy().copy()
    model(latent("sngan"), training=False)
    self.assertAllEqual(bn.moving_mean, before)
    model(latent("sngan"), training=True)
    self.assertNotAllEqual(bn.moving_mean, before)

  def testScoresReceiveGradients_ThroughWholeGenerator(self):
    model = tiny("biggan", 32, num_classes=3, attention_resolutions=(16,))
    z = latent("biggan")
    with tf.GradientTape() as tape:
      images = model([z, tf.constant([0, 1, 2])], training=True)
      loss = tf.reduce_mean(tf.square(images))
    grads = tape.gradient(loss, model.trainable_variables)
    missing = [v.path for v, g in zip(model.trainable_variables, grads)
               if g is None]
    self.assertEmpty(missing)


class MixedPrecisionTest(tf.test.TestCase):

  def testMixedBfloat16_ComputesInBf16_ScoresAndGradientsStayFloat32(self):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
      model = tiny("biggan", 32, num_classes=3, attention_resolutions=(16,))
      with tf.GradientTape() as tape:
        images = model([latent("biggan", batch=2), tf.constant([0, 2])],
                       training=True)
        loss = tf.reduce_mean(tf.square(tf.cast(images, tf.float32)))
      grads = tape.gradient(loss, model.trainable_variables)
    finally:
      keras.mixed_precision.set_global_policy(previous)
    self.assertEqual(images.dtype, tf.bfloat16)
    self.assertTrue(all(v.dtype == "float32"
                        for v in model.trainable_variables))
    self.assertTrue(all(g is not None and g.dtype == tf.float32
                        for g in grads))


class BigGanTest(tf.test.TestCase, parameterized.TestCase):

  def testConditional_DifferentLabelsGiveDifferentImages(self):
    model = tiny("biggan", 32, num_classes=5)
    z = tf.repeat(latent("biggan", batch=1), 5, axis=0)
    images = model([z, tf.range(5)], training=False).numpy()
    for i in range(1, 5):
      self.assertGreater(np.abs(images[i] - images[0]).max(), 1e-4)
    again = model([z, tf.range(5)], training=False).numpy()
    self.assertAllEqual(images, again)

  def testAttention_ResolutionsAddLayers(self):
    model = tiny("biggan", 32, attention_resolutions=(16,))
    self.assertIsNotNone(model.get_layer("attention16"))
    gamma = model.get_layer("attention16").gamma
    self.assertFalse(gamma.trainable)
    self.assertEqual(float(gamma), 1.0)
    dense = tiny("biggan", 32, mode="dense", attention_resolutions=(16,))
    self.assertTrue(dense.get_layer("attention16").gamma.trainable)

  def testSpectralNorm_OnMaskedKernels(self):
    model = tiny("biggan", 32)
    conv = model.get_layer("block0_conv1")
    self.assertTrue(conv.spectral_norm)
    for _ in range(30):  # let the power iteration converge
      conv.effective_kernel(training=True)
    kernel = conv.effective_kernel().numpy()
    top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]),
                        compute_uv=False)[0]
    self.assertAllClose(top, 1.0, rtol=1e-3)
    masked_w = (conv.kernel.numpy() * conv.mask().numpy())
    self.assertAllClose(kernel * np.linalg.svd(
        masked_w.reshape(-1, kernel.shape[-1]), compute_uv=False)[0],
                        masked_w, rtol=1e-3, atol=1e-6)

  @parameterized.parameters(
      (dict(nz=121), "nz"), (dict(resolution=128), "resolution"),
      (dict(attention_resolutions=(7,)), "attention_resolutions"),
      (dict(num_classes=-1), "num_classes"))
  def testBadArguments_RaiseNamingThem(self, kwargs, word):
    kwargs.setdefault("resolution", 32)
    with self.assertRaisesRegex(ValueError, word):
      generators.build("biggan", width=2, **kwargs)


class BuildTest(parameterized.TestCase):

  def testUnknownArch_RaisesNamingArch(self):
    with self.assertRaisesRegex(ValueError, "arch"):
      generators.build("dcgan")

  @parameterized.parameters(("gfmn", 128), ("sngan", 16))
  def testUnsupportedResolution_RaisesNamingResolution(self, arch, res):
    with self.assertRaisesRegex(ValueError, "resolution"):
      generators.build(arch, resolution=res)

  def testUnknownOption_RaisesNamingArch(self):
    with self.assertRaisesRegex(ValueError, "unknown option"):
      generators.build("gfmn", resolution=32, width=4, num_classes=3)

  def testBadKeepRatio_RaisesNamingIt(self):
    with self.assertRaisesRegex(ValueError, "keep_ratio"):
      generators.build("sngan", resolution=32, width=8, keep_ratio=0.0)

  def testTicketWholeOrAsKeywords_SameNetwork_NotBoth(self):
    options = generators.TicketOptions(keep_ratio=0.3, seed=4)
    a = generators.build("gfmn", resolution=32, width=4, ticket=options)
    b = generators.build("gfmn", resolution=32, width=4, keep_ratio=0.3,
                         seed=4)
    for x, y in zip(a.weights, b.weights):
      np.testing.assert_array_equal(x.numpy(), y.numpy())
    with self.assertRaisesRegex(ValueError, "^keep_ratio: give the ticket"):
      generators.build("gfmn", ticket=options, keep_ratio=0.3)

  def testBadChannels_RaisesNamingThem(self):
    with self.assertRaisesRegex(ValueError, "^channels must be one of"):
      generators.build("gfmn", resolution=32, width=4, channels=2)


class ChannelsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*CASES)
  def testGray_OneOutputChannel_SameBodyAsColour(self, arch, resolution):
    gray = tiny(arch, resolution, channels=1)
    colour = tiny(arch, resolution)
    self.assertEqual(gray(latent(arch)).shape,
                     (3, resolution, resolution, 1))
    # Only the head differs: every other layer has the same shapes.
    shapes = lambda m: [tuple(w.shape) for w in m.weights
                        if "to_rgb" not in w.path]
    self.assertEqual(shapes(gray), shapes(colour))
    head = [w for w in gray.weights if w.path.endswith("to_rgb/kernel")]
    self.assertEqual(head[0].shape[-1], 1)

  def testDiscriminator_TakesTheGeneratorsChannels(self):
    model = generators.build_discriminator(32, ch=4, channels=1)
    self.assertEqual(model.input_shape, (None, 32, 32, 1))
    self.assertEqual(model(tf.zeros([2, 32, 32, 1])).shape, (2, 1))


def documented_counts():
  """Rows of the parameter table in BUILD.md: {(arch, res): (kernels, biases)}."""
  with open(os.path.join(REPO, "BUILD.md")) as f:
    text = f.read()
  rows = re.findall(r"^\|\s*(gfmn|sngan|biggan)\s*\|\s*(\d+)\s*\|[^|]*\|"
                    r"\s*([\d,]+)\s*\|\s*([\d,]+)\s*\|\s*([\d,]+)\s*\|",
                    text, flags=re.M)
  return {(a, int(r)): tuple(int(x.replace(",", "")) for x in (k, b, t))
          for a, r, k, b, t in rows}


class ParameterCountTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*CASES)
  def testDefaultWidths_MatchDocumentedTable(self, arch, resolution):
    table = documented_counts()
    self.assertIn((arch, resolution), table, "BUILD.md lacks this row")
    counts = generators.prunable_parameter_count(
        generators.build(arch, resolution=resolution))
    self.assertEqual((counts["kernels"], counts["biases"], counts["total"]),
                     table[(arch, resolution)])
    if resolution == 64:
      paper = generators.PAPER_PARAMETERS_64[arch]
      self.assertLess(abs(counts["total"] - paper) / paper, 0.10)


class SerializationTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*CASES)
  def testSaveLoad_IdenticalOutputs(self, arch, resolution):
    kwargs = {"num_classes": 4, "attention_resolutions": (16,)} if (
        arch == "biggan") else {}
    model = tiny(arch, resolution, keep_ratio=0.3, **kwargs)
    inputs = latent(arch)
    if arch == "biggan":
      inputs = [inputs, tf.constant([0, 3, 1])]
    model(inputs, training=True)  # move BN statistics and power iterations
    path = os.path.join(self.get_temp_dir(), f"{arch}{resolution}.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    self.assertAllEqual(loaded(inputs, training=False),
                        model(inputs, training=False))


class DiscriminatorTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(32, 64)
  def testDiscriminator_LogitsDenseSpectralNorm(self, resolution):
    model = generators.build_discriminator(resolution, ch=4)
    logits = model(tf.random.stateless_uniform(
        [2, resolution, resolution, 3], seed=[0, 0], minval=-1, maxval=1))
    self.assertEqual(logits.shape, (2, 1))
    masked = layers.masked_layers(model)
    self.assertTrue(all(l.mode == "dense" and l.spectral_norm for l in masked))
    self.assertNotIn("scores", {v.path.split("/")[-1] for v in model.weights})


if __name__ == "__main__":
  tf.test.main()
