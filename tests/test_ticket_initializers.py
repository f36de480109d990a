"""Tests for slt_tf.ticket.initializers: each scheme's statistics and reproducibility."""

import math

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

from slt_tf.ticket import initializers
from slt_tf.ticket import layers

SHAPE = (3, 3, 64, 128)  # fan_in 576, 73,728 draws: tight statistics
FAN = 3 * 3 * 64


def draw(scheme, seed=7, stream=0, shape=SHAPE, **kwargs):
  return initializers.Stateless(scheme, seed, stream, **kwargs)(shape).numpy()


class FanInTest(parameterized.TestCase):

  @parameterized.parameters(
      ((100, 10), 100),            # Dense (in, out)
      ((3, 3, 16, 32), 144),       # Conv2D (kh, kw, in, out)
      ((4, 4, 8, 16), 128),        # Conv2DTranspose (kh, kw, filters=8, in=16)
      ((7,), 7), ((), 1))
  def testFanIn_FollowsKerasConvention(self, shape, expected):
    self.assertEqual(initializers.fan_in(shape), expected)

  def testFanIn_TransposedConv_EqualsTorchFanIn(self):
    # PyTorch ConvTranspose2d weight is (in, out, kh, kw); torch's fan_in is
    # size(1) * kh * kw. Keras stores the same kernel as (kh, kw, out, in).
    torch_shape = (16, 8, 4, 4)
    torch_fan_in = torch_shape[1] * torch_shape[2] * torch_shape[3]
    keras_shape = (4, 4, 8, 16)
    self.assertEqual(initializers.fan_in(keras_shape), torch_fan_in)


class SchemeStatisticsTest(tf.test.TestCase, parameterized.TestCase):

  def testSignedKaimingConstant_ExactlyTwoValuesBalanced(self):
    w = draw("signed_kaiming_constant")
    c = math.sqrt(2.0 / FAN)
    self.assertAllClose(np.unique(w), [-c, c], rtol=1e-6)
    self.assertLen(np.unique(w), 2)
    self.assertBetween((w > 0).mean(), 0.49, 0.51)

  def testScaledSignedConstant_TheSameSignsWithTheKeptFractionsGain(self):
    plain = draw("signed_kaiming_constant")
    scaled = draw("scaled_signed_kaiming_constant", keep_ratio=0.1)
    c = math.sqrt(2.0 / (FAN * 0.1))
    self.assertAllClose(np.unique(scaled), [-c, c], rtol=1e-6)
    self.assertAllEqual(np.sign(scaled), np.sign(plain))
    self.assertAllClose(scaled, plain / math.sqrt(0.1), rtol=1e-6)

  @parameterized.parameters(("kaiming_normal", 1.0, math.sqrt(2.0 / FAN)),
                            ("scaled_kaiming_normal", 0.1,
                             math.sqrt(2.0 / (FAN * 0.1))),
                            ("normal_0.02", 0.3, 0.02))
  def testNormalSchemes_HaveExpectedStd(self, scheme, keep_ratio, std):
    w = draw(scheme, keep_ratio=keep_ratio)
    self.assertAllClose(w.std(), std, rtol=0.02)
    self.assertLess(abs(w.mean()), 4 * std / math.sqrt(w.size))

  @parameterized.parameters(("uniform_0.1", 0.1),
                            ("kaiming_uniform", 1.0 / math.sqrt(FAN)))
  def testUniformSchemes_HaveExpectedBoundAndVariance(self, scheme, bound):
    s = draw(scheme)
    self.assertLessEqual(np.abs(s).max(), bound)
    self.assertGreater(np.abs(s).max(), 0.999 * bound)
    self.assertAllClose(s.var(), bound**2 / 3.0, rtol=0.02)

  def testExplicitFanIn_OverridesShape(self):
    b = draw("signed_kaiming_constant", shape=(32,), fan_in=FAN)
    self.assertAllClose(np.abs(b), np.full(32, math.sqrt(2.0 / FAN)))

  def testUnknownScheme_Raises(self):
    with self.assertRaisesRegex(ValueError, "unknown initialiser"):
      initializers.Stateless("xavier", 0)


class ReproducibilityTest(tf.test.TestCase):

  def testSameSeedAndStream_SameTensor_DifferentStream_Differs(self):
    self.assertAllEqual(draw("kaiming_normal"), draw("kaiming_normal"))
    self.assertNotAllEqual(draw("kaiming_normal"),
                           draw("kaiming_normal", stream=1))
    self.assertNotAllEqual(draw("kaiming_normal"),
                           draw("kaiming_normal", seed=8))

  def testLayerWeights_AreTheSeededDraws(self):
    layer = layers.MaskedConv2D(8, 3, seed=11, weight_init="kaiming_normal")
    layer.build((None, 6, 6, 4))
    shape = (3, 3, 4, 8)
    self.assertAllEqual(layer.kernel, draw("kaiming_normal", 11, 0, shape))
    self.assertAllEqual(layer.scores, draw("uniform_0.1", 11, 1, shape))
    self.assertAllEqual(layer.bias, draw("kaiming_normal", 11, 2, (8,),
                                         fan_in=36))
    self.assertAllEqual(layer.bias_scores, draw("uniform_0.1", 11, 3, (8,),
                                                fan_in=36))

  def testConfig_RoundTrip(self):
    init = initializers.Stateless("scaled_kaiming_normal", 3, 2, fan_in=9,
                                  keep_ratio=0.2)
    clone = initializers.Stateless.from_config(init.get_config())
    self.assertAllEqual(init((5, 4)), clone((5, 4)))


if __name__ == "__main__":
  tf.test.main()
