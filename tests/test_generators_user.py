"""Tests for slt_tf.generators.user: a user's Keras generator as
``--arch=MODULE:FUNCTION``, and the configuration's checks of it."""

import os

import keras
import numpy as np
import tensorflow as tf

from slt_tf import generators
from slt_tf.generators import catalog
from slt_tf.generators import user
from slt_tf.ticket import layers as masked
from slt_tf.ticket.options import TicketOptions
import testutil

TINY = "user_archs:tiny"


def build(arch=TINY, **kwargs):
  values = dict(resolution=32, nz=10, channels=1, check_range=True,
                ticket=TicketOptions(keep_ratio=0.2, seed=5))
  values.update(kwargs)
  return generators.build(arch, **values)


class UserArchitectureTest(tf.test.TestCase):

  def testBuild_TicketOfTheFunctionsModel(self):
    generator = build()
    reference = keras.Sequential(
        [keras.Input((10,))] +
        keras.models.clone_model(
            __import__("user_archs").tiny(nz=10, channels=1,
                                          resolution=32)).layers)
    self.assertEqual(generator.output_shape, (None, 32, 32, 1))
    self.assertEqual(
        [type(l).__name__ for l in masked.masked_layers(generator)],
        ["MaskedDense"] + ["MaskedConv2DTranspose"] * 3)
    self.assertEqual(generators.prunable_parameter_count(generator)["total"],
                     reference.count_params() - sum(
                         int(np.prod(w.shape)) for l in reference.layers
                         if isinstance(l, keras.layers.BatchNormalization)
                         for w in l.weights))
    images = generator(np.zeros((3, 10), np.float32), training=True)
    self.assertEqual(images.shape, (3, 32, 32, 1))
    self.assertLessEqual(float(tf.reduce_max(tf.abs(images))), 1.0)

  def testTwoBuilds_SameNamesAndWeights(self):
    keras.layers.Dense(3)  # Moves Keras's automatic name counter.
    a, b = build(), build()
    self.assertEqual([v.path for v in a.weights], [v.path for v in b.weights])
    for x, y in zip(a.weights, b.weights):
      self.assertAllEqual(x, y)
    self.assertNotAllEqual(
        masked.masked_layers(build(ticket=TicketOptions(seed=6)))[0].kernel,
        masked.masked_layers(a)[0].kernel)

  def testWidth_PassedToTheFunction(self):
    wide = build("examples.dcgan:build", width=8)
    narrow = build("examples.dcgan:build", width=4)
    self.assertEqual(masked.masked_layers(wide)[0].units, 4 * 4 * 32)
    self.assertEqual(masked.masked_layers(narrow)[0].units, 4 * 4 * 16)

  def testDefaultLatentSize(self):
    self.assertEqual(generators.default_nz(TINY), catalog.USER_DEFAULT_NZ)
    self.assertEqual(build(nz=None).input_shape, (None, catalog.USER_DEFAULT_NZ))

  def testBadArchitectures_OneLineErrorNamingIt(self):
    cases = {
        "no_module_here:build": r"^arch: cannot import 'no_module_here'",
        "user_archs:missing": r"^arch: module 'user_archs' has no function "
                              r"'missing'",
        "user_archs:NOT_CALLABLE": r"no function 'NOT_CALLABLE'",
        "user_archs:wrong_size": r"^arch: user_archs:wrong_size maps "
                                 r"\(None, 10\) to \(None, 16, 16, 1\); "
                                 r"expected z \(None, 10\) to images "
                                 r"\(None, 32, 32, 1\)",
        "user_archs:no_tanh": r"must lie in \[-1, 1\]",
        "user_archs:positional_only": r"must take these keyword arguments",
        "user_archs:not_a_model": r"returned a str, not a keras.Model",
        "user_archs:with_embedding": r"^arch: user_archs:with_embedding: "
                                     r"ticketize: cannot convert c1d",
        "bad module:build": r"^arch must be MODULE:FUNCTION",
    }
    for arch, pattern in cases.items():
      with self.subTest(arch=arch):
        with self.assertRaisesRegex(ValueError, pattern) as caught:
          build(arch)
        self.assertLen(str(caught.exception).splitlines(), 1)

  def testRangeCheck_OnlyWhenAsked(self):
    """A search checks the images' range when it starts; rebuilding the
    generator it searched (restore, export, the keeper's twin) skips the
    forward pass."""
    with self.assertRaisesRegex(ValueError, r"must lie in \[-1, 1\]"):
      generators.build("user_archs:no_tanh", resolution=32, nz=10,
                       channels=1, check_range=True)
    model = generators.build("user_archs:no_tanh", resolution=32, nz=10,
                             channels=1)
    self.assertEqual(model.output_shape, (None, 32, 32, 1))

  def testBuiltInOptions_Refused(self):
    with self.assertRaisesRegex(ValueError, r"^num_classes: not an option"):
      build(num_classes=3)


class ReadmeTest(tf.test.TestCase):

  def testReadmesDcgan_IsTheExampleItRuns(self):
    with open(os.path.join(testutil.REPO, "README.md")) as f:
      readme = f.read()
    shown = readme.split("This is `examples/dcgan.py`:\n\n```python\n")[1]
    shown = shown.split("```")[0]
    with open(os.path.join(testutil.REPO, "examples", "dcgan.py")) as f:
      source = f.read()
    self.assertTrue(source.endswith(shown), shown)
    self.assertLessEqual(len(shown.strip().splitlines()), 20)


class ConfigTest(tf.test.TestCase):

  def config(self, **overrides):
    values = dict(arch=TINY, channels=1)
    values.update(overrides)
    return testutil.tiny_config(self.get_temp_dir(), **values)

  def testUserArch_AnyResolutionAndTheModelsWeights(self):
    config = self.config(resolution=28, width=None, ticket=TicketOptions(
        weight_init="model"))
    self.assertEqual(config.model.latent_size, catalog.USER_DEFAULT_NZ)
    self.assertEqual(config.generator_kwargs()["resolution"], 28)

  def testUserArch_Refusals(self):
    cases = [
        (dict(resolution=2), r"^resolution must be >= 4"),
        (dict(ticket=TicketOptions(bn_affine=True)), r"^bn_affine: "),
        (dict(num_classes=2), r"^num_classes is only supported"),
        (dict(arch="gfmn", ticket=TicketOptions(weight_init="model")),
         r"^weight_init: 'model' .* needs a user architecture"),
        (dict(arch="dcgan"), r"^arch must be one of .* or MODULE:FUNCTION"),
    ]
    for overrides, pattern in cases:
      with self.subTest(overrides=overrides):
        with self.assertRaisesRegex(ValueError, pattern):
          self.config(**overrides)


if __name__ == "__main__":
  tf.test.main()
