"""Metrics against tensorflow-gan (the oracle), SciPy, NumPy and closed forms."""

import numpy as np
from scipy import linalg
import tensorflow as tf

from slt_tf.evaluation import metrics
import tfgan_oracle


def gaussian(seed, n, d, shift=0.0, scale=1.0):
  rng = np.random.default_rng(seed)
  return (rng.normal(size=(n, d)) * scale + shift).astype(np.float32)


class TfganAgreementTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tfgan = tfgan_oracle.load()

  def testFrechetDistance_EqualsTfgan(self):
    real, fake = gaussian(0, 300, 24), gaussian(1, 250, 24, 0.3, 1.3)
    expected = self.tfgan.eval.frechet_classifier_distance_from_activations(
        tf.constant(real, tf.float64), tf.constant(fake, tf.float64))
    self.assertAllClose(metrics.frechet_distance(real, fake), expected,
                        rtol=1e-6)

  def testKernelDistance_EqualsTfganWithBlocks(self):
    real, fake = gaussian(2, 230, 16), gaussian(3, 170, 16, 0.2, 1.1)
    for block in (64, 1000):
      kid, std = self.tfgan.eval.kernel_classifier_distance_and_std_from_activations(
          tf.constant(real, tf.float64), tf.constant(fake, tf.float64),
          max_block_size=block)
      ours = metrics.kernel_distance(real, fake, max_block_size=block)
      self.assertAllClose(ours[0], kid, rtol=1e-6)
      if block == 64:
        self.assertAllClose(ours[1], std, rtol=1e-6)
      else:
        self.assertTrue(np.isnan(ours[1]) and np.isnan(std))

  def testInceptionScore_EqualsTfganClassifierScore(self):
    logits = gaussian(4, 200, 10, scale=3.0)
    expected = self.tfgan.eval.classifier_score_from_logits(
        tf.constant(logits, tf.float64))
    self.assertAllClose(metrics.inception_score(logits), expected, rtol=1e-6)


class ReferenceTest(tf.test.TestCase):

  def testFrechetDistance_SciPySqrtmAndSelfZero(self):
    real, fake = gaussian(5, 400, 12), gaussian(6, 300, 12, 0.5, 0.7)
    mu1, s1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, s2 = fake.mean(0), np.cov(fake, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)
    self.assertAllClose(metrics.frechet_distance(real, fake), expected,
                        rtol=1e-6)
    self.assertAllClose(metrics.frechet_distance(real, real), 0.0, atol=1e-8)

  def testFrechetDistance_ClosedFormForIsotropicGaussians(self):
    # Large samples: FID -> |dmu|^2 + d (s1 - s2)^2 for N(mu_i, s_i^2 I).
    real, fake = gaussian(7, 20000, 4), gaussian(8, 20000, 4, 1.0, 2.0)
    self.assertAllClose(metrics.frechet_distance(real, fake), 4 + 4 * 1.0,
                        rtol=0.03)

  def testPrdc_NumPyBruteForceReference(self):
    real, fake = gaussian(9, 120, 5), gaussian(10, 90, 5, 0.4, 1.2)
    k = 5
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=-1)
    d_ff = np.linalg.norm(fake[:, None] - fake[None], axis=-1)
    d_rf = np.linalg.norm(real[:, None] - fake[None], axis=-1)
    r = np.sort(d_rr, axis=1)[:, k]
    f = np.sort(d_ff, axis=1)[:, k]
    expected = {
        "precision": (d_rf < r[:, None]).any(0).mean(),
        "recall": (d_rf < f[None, :]).any(1).mean(),
        "density": (d_rf < r[:, None]).sum(0).mean() / k,
        "coverage": (d_rf.min(1) < r).mean()}
    got = metrics.prdc(real, fake, nearest_k=k)
    self.assertEqual(set(got), set(expected))
    for name, value in expected.items():
      self.assertAllClose(got[name], value, msg=name)

  def testPrdc_KnownConfigurations(self):
    real = gaussian(11, 500, 8)
    same = metrics.prdc(real, real)
    self.assertEqual((same["precision"], same["recall"], same["coverage"]),
                     (1.0, 1.0, 1.0))
    far = metrics.prdc(real, gaussian(12, 500, 8, shift=100.0))
    self.assertEqual(far, {"precision": 0.0, "recall": 0.0, "density": 0.0,
                           "coverage": 0.0})
    # Fakes from the same distribution: density near 1 (its expectation).
    close = metrics.prdc(real, gaussian(13, 500, 8))
    self.assertBetween(close["density"], 0.8, 1.2)

  def testBadShapes_ClearErrors(self):
    with self.assertRaisesRegex(ValueError, "widths differ"):
      metrics.frechet_distance(np.zeros((3, 2)), np.zeros((3, 4)))
    with self.assertRaisesRegex(ValueError, r"\(N, D\)"):
      metrics.prdc(np.zeros(3), np.zeros((3, 1)))
    with self.assertRaisesRegex(ValueError, "nearest_k"):
      metrics.prdc(np.zeros((4, 2)), np.ones((4, 2)), nearest_k=4)


if __name__ == "__main__":
  tf.test.main()
