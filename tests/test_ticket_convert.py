"""Tests for slt_tf.ticket.convert (`ticketize`): a plain Keras model made a
ticket."""

import os

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from slt_tf.ticket import layers as masked
from slt_tf.ticket.options import TicketOptions
from slt_tf.ticket.convert import TicketizeError
from slt_tf.ticket.convert import ticketize

NZ = 6
# Keras class -> the configuration keys its masked copy must carry over.
_KEYS = {
    keras.layers.Dense: ("units", "activation", "use_bias", "name"),
    keras.layers.Conv2D: ("filters", "kernel_size", "strides", "padding",
                          "data_format", "dilation_rate", "activation",
                          "use_bias", "name"),
    keras.layers.Conv2DTranspose: ("filters", "kernel_size", "strides",
                                   "padding", "data_format", "dilation_rate",
                                   "output_padding", "activation", "use_bias",
                                   "name"),
}


def sequential_generator():
  return keras.Sequential([
      keras.Input((NZ,)),
      keras.layers.Dense(4 * 4 * 5, use_bias=False, name="project"),
      keras.layers.BatchNormalization(), keras.layers.ReLU(),
      keras.layers.Reshape((4, 4, 5)),
      keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same",
                                   name="up"),
      keras.layers.BatchNormalization(), keras.layers.LeakyReLU(0.2),
      keras.layers.Conv2D(3, 3, padding="valid", dilation_rate=1,
                          activation="tanh", name="to_rgb"),
  ], name="seq")


def functional_generator():
  z = keras.Input((NZ,))
  x = keras.layers.Dense(2 * 2 * 8, activation="relu", name="fc")(z)
  x = keras.layers.Reshape((2, 2, 8))(x)
  x = keras.layers.UpSampling2D(2)(x)
  a = keras.layers.Conv2D(6, 3, padding="same", name="branch_a")(x)
  b = keras.layers.Conv2D(6, 1, strides=1, use_bias=False, name="branch_b")(x)
  x = keras.layers.Add()([a, b])
  x = keras.layers.LayerNormalization()(x)
  x = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same",
                                   output_padding=1, activation="tanh",
                                   name="out")(x)
  return keras.Model(z, x, name="func")


BUILDERS = {"sequential": sequential_generator,
            "functional": functional_generator}


def latents(n=5, seed=0):
  return np.random.default_rng(seed).normal(size=(n, NZ)).astype(np.float32)


def originals(model):
  return [l for l in model._flatten_layers(include_self=False, recursive=True)  # pylint: disable=protected-access
          if type(l) in _KEYS]


class TicketizeTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(*BUILDERS.items())
  def testTicketized_OnlyScoresTrainable(self, build):
    model = build()
    ticket = ticketize(model, keep_ratio=0.25)
    converted = masked.masked_layers(ticket)
    self.assertLen(converted, len(originals(model)))
    expected = sorted(
        [f"{l.path}/scores" for l in converted] +
        [f"{l.path}/bias_scores" for l in converted if l.use_bias])
    self.assertEqual(sorted(v.path for v in ticket.trainable_variables),
                     expected)

  @parameterized.named_parameters(*BUILDERS.items())
  def testKeptCounts_ExactPerLayer(self, build):
    ticket = ticketize(build(), keep_ratio=0.25, weight_init="kaiming_normal")
    for layer in masked.masked_layers(ticket):
      for mask in (layer.mask(), layer.bias_mask()):
        if mask is None:
          continue
        n = int(np.prod(mask.shape))
        # Keep 1/4: n minus the floor of 3n/4 pruned, in integers.
        self.assertEqual(int(np.sum(mask)), n - (3 * n) // 4, layer.name)

  @parameterized.named_parameters(*BUILDERS.items())
  def testKeepAll_ModelsOwnWeights_SameOutputs(self, build):
    model = build()
    ticket = ticketize(model, keep_ratio=1.0)
    z = latents()
    for training in (False, True):
      self.assertAllClose(ticket(z, training=training),
                          model(z, training=training), atol=1e-6, rtol=0)

  @parameterized.named_parameters(*BUILDERS.items())
  def testLayerConfigurations_EqualTheOriginals(self, build):
    model = build()
    ticket = ticketize(model, keep_ratio=0.5)
    pairs = zip(originals(model), masked.masked_layers(ticket))
    for original, copy in pairs:
      want, got = original.get_config(), copy.get_config()
      for key in _KEYS[type(original)]:
        self.assertEqual(tuple(np.ravel(got[key])) if key in (
            "kernel_size", "strides", "dilation_rate") else got[key],
                         tuple(np.ravel(want[key])) if key in (
            "kernel_size", "strides", "dilation_rate") else want[key],
                         f"{original.name}.{key}")
      self.assertEqual(copy.dtype_policy.name, original.dtype_policy.name)
      self.assertEqual(copy.output.shape, original.output.shape)

  @parameterized.named_parameters(*BUILDERS.items())
  def testSaveAndLoad_SameModel(self, build):
    ticket = ticketize(build(), keep_ratio=0.3, seed=4)
    path = os.path.join(self.get_temp_dir(), "ticket.keras")
    ticket.save(path)
    loaded = keras.models.load_model(path)
    z = latents()
    self.assertAllEqual(loaded(z), ticket(z))
    self.assertEqual([l.get_config() for l in masked.masked_layers(loaded)],
                     [l.get_config() for l in masked.masked_layers(ticket)])
    # Names, not paths: a loaded Sequential nests its layers' paths anew.
    self.assertEqual(sorted(v.name for v in loaded.trainable_variables),
                     sorted(v.name for v in ticket.trainable_variables))
    self.assertLen(loaded.trainable_variables,
                   len(ticket.trainable_variables))

  def testModelsOwnWeights_AreTheFrozenKernels_OriginalUnchanged(self):
    model = sequential_generator()
    before = [np.array(w) for w in model.weights]
    ticket = ticketize(model, keep_ratio=0.1)
    for original, copy in zip(originals(model), masked.masked_layers(ticket)):
      self.assertAllEqual(copy.kernel, original.kernel)
      self.assertFalse(copy.kernel.trainable)
    for old, now in zip(before, model.weights):
      self.assertAllEqual(now, old)
    self.assertEmpty([l for l in model.layers
                      if isinstance(l, masked.MaskedLayer)])

  def testRedrawnWeights_AFunctionOfTheSeed(self):
    make = lambda seed: ticketize(sequential_generator(), keep_ratio=0.1,
                                  weight_init="signed_kaiming_constant",
                                  seed=seed)
    a, b, c = make(3), make(3), make(4)
    for x, y, other, original in zip(
        masked.masked_layers(a), masked.masked_layers(b),
        masked.masked_layers(c), originals(sequential_generator())):
      kernel = np.asarray(x.kernel)
      self.assertAllEqual(kernel, y.kernel)
      self.assertNotAllEqual(kernel, other.kernel)
      # Signed constant: one magnitude, both signs, none of Keras's draws.
      self.assertLen(np.unique(np.abs(kernel)), 1)
      self.assertEqual(kernel.shape, tuple(original.kernel.shape))
    # Layer i of the model gets the seed seed * 4096 + i.
    self.assertEqual([l.seed for l in masked.masked_layers(a)],
                     [3 * 4096 + i for i in range(3)])

  def testBatchNorm_AffineFrozenForATicket_TrainedDense_BatchStatistics(self):
    model = sequential_generator()
    ticket = ticketize(model, keep_ratio=0.5)
    dense = ticketize(model, keep_ratio=0.5, mode="dense")
    norms = lambda m: [l for l in m.layers
                       if isinstance(l, keras.layers.BatchNormalization)]
    for norm in norms(ticket):
      self.assertFalse(norm.gamma.trainable)
      self.assertFalse(norm.beta.trainable)
      self.assertTrue(norm.trainable)  # The layer: batch statistics.
    for norm in norms(dense):
      self.assertTrue(norm.gamma.trainable)
    self.assertContainsSubset({"seq/project/kernel", "seq/up/kernel"},
                              {v.path for v in dense.trainable_variables})
    norm = norms(ticket)[0]
    before = np.array(norm.moving_mean)
    ticket(latents(), training=True)
    self.assertNotAllEqual(norm.moving_mean, before)

  def testKeepWhole_ByNameByPredicateAndEnds(self):
    by_name = ticketize(sequential_generator(), keep_ratio=0.1,
                        keep_whole=["up"])
    by_predicate = ticketize(sequential_generator(), keep_ratio=0.1,
                             keep_whole=lambda l: l.name == "up")
    ends = ticketize(sequential_generator(), keep_ratio=0.1,
                     first_dense=True, last_dense=True)
    modes = lambda m: [l.mode for l in masked.masked_layers(m)]
    self.assertEqual(modes(by_name), ["ticket", "frozen", "ticket"])
    self.assertEqual(modes(by_predicate), ["ticket", "frozen", "ticket"])
    self.assertEqual(modes(ends), ["frozen", "ticket", "frozen"])
    with self.assertRaisesRegex(ValueError, r"keep_whole: .*'nope'"):
      ticketize(sequential_generator(), keep_whole=["nope"])

  def testOptionsObject_EqualsKeywords(self):
    options = TicketOptions(keep_ratio=0.2, mask_scope="global",
                            mask_bias=False, score_init="kaiming_uniform",
                            seed=2, weight_init="kaiming_normal")
    a = ticketize(sequential_generator(), options=options)
    b = ticketize(sequential_generator(), keep_ratio=0.2, mask_scope="global",
                  mask_bias=False, score_init="kaiming_uniform", seed=2,
                  weight_init="kaiming_normal")
    self.assertEqual([l.get_config() for l in masked.masked_layers(a)],
                     [l.get_config() for l in masked.masked_layers(b)])
    self.assertEqual({l.mask_scope for l in masked.masked_layers(a)},
                     {"global"})
    with self.assertRaisesRegex(ValueError, r"keep_ratio: .*not both"):
      ticketize(sequential_generator(), 0.2, options=options)
    with self.assertRaisesRegex(ValueError, r"^colour: not an option"):
      ticketize(sequential_generator(), colour=1)

  def testUntrainableStateOfOtherLayers_CopiedFromTheModel(self):
    """A layer holding only untrainable state (an adapted Normalization) is
    kept with the model's values, not a clone's fresh ones."""
    data = latents(64) * 3.0 + 2.0
    standardize = keras.layers.Normalization(name="standardize")
    standardize.adapt(data)
    z = keras.Input((NZ,))
    out = keras.layers.Dense(4, activation="tanh", name="out")(standardize(z))
    model = keras.Model(z, out)
    ticket = ticketize(model, keep_ratio=1.0)
    copied = ticket.get_layer("standardize")
    self.assertAllEqual(copied.mean, standardize.mean)
    self.assertAllClose(ticket(data), model(data), atol=1e-6, rtol=0)

  def testNestedModel_ConvertedInside(self):
    inner = keras.Sequential([keras.layers.Dense(8, name="inner_fc")],
                             name="inner")
    z = keras.Input((NZ,))
    out = keras.layers.Dense(4, activation="tanh", name="outer_fc")(inner(z))
    ticket = ticketize(keras.Model(z, out), keep_ratio=0.5)
    self.assertEqual([l.name for l in masked.masked_layers(ticket)],
                     ["inner_fc", "outer_fc"])

  def testUnconvertibleLayers_AllListedInOneError(self):
    model = keras.Sequential([
        keras.Input((8, 3)),
        keras.layers.Conv1D(4, 3, name="c1"),
        keras.layers.Reshape((6, 4, 1)),
        keras.layers.Conv2D(4, 1, name="fine"),
        keras.layers.Conv2D(4, 1, groups=2, name="grouped"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, name="ok"),
    ])
    with self.assertRaises(TicketizeError) as caught:
      ticketize(model)
    message = str(caught.exception)
    self.assertEqual(len(message.splitlines()), 1)
    self.assertIn("c1 (Conv1D: no masked counterpart)", message)
    self.assertIn("grouped (Conv2D: groups=2)", message)
    self.assertNotIn("fine (", message)

  def testSubclassedModel_SaysBuildFromTheMaskedLayers(self):

    class Generator(keras.Model):

      def __init__(self):
        super().__init__()
        self.fc = keras.layers.Dense(4)

      def call(self, z):
        return self.fc(z)

    model = Generator()
    model(latents())
    with self.assertRaisesRegex(TicketizeError,
                                r"subclass Generator.*slt_tf.ticket.layers"):
      ticketize(model)


if __name__ == "__main__":
  tf.test.main()
