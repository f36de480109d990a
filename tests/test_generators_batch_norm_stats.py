"""Re-estimated batch-norm statistics, against NumPy on the layer's input."""

import keras
import numpy as np
import tensorflow as tf

from slt_tf import generators
from slt_tf.generators import batch_norm_stats
from slt_tf.generators import inputs as inputs_lib

_NZ, _BATCH = 6, 16


def _model():
  """z -> Dense(5) -> BN: the BN's input is z @ kernel + bias, computable
  in NumPy."""
  keras.utils.set_random_seed(3)
  z = keras.Input((_NZ,))
  dense = keras.layers.Dense(5, bias_initializer="random_normal")
  out = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(dense(z))
  return keras.Model(z, out), dense


def _latents(batches, seed=0):
  """The latents ``reestimate`` draws (its documented stream)."""
  return [inputs_lib.latent_batch(
      _BATCH, _NZ, 0, tf.constant([seed ^ batch_norm_stats._SEED, i],
                                  tf.int64))[0].numpy()
          for i in range(batches)]


class BatchNormStatsTest(tf.test.TestCase):

  def testReestimate_MovingStatsAreTheMeanOfBatchStatistics(self):
    model, dense = _model()
    count = batch_norm_stats.reestimate(model, 4, _BATCH, _NZ)
    self.assertEqual(count, 1)
    kernel, bias = (v.numpy() for v in dense.weights)
    acts = [z @ kernel + bias for z in _latents(4)]
    bn = batch_norm_stats.batch_norms(model)[0]
    self.assertAllClose(bn.moving_mean.numpy(),
                        np.mean([a.mean(0) for a in acts], 0), atol=1e-5)
    # Keras normalises training batches by their biased variance.
    self.assertAllClose(bn.moving_variance.numpy(),
                        np.mean([a.var(0) for a in acts], 0), atol=1e-5)
    self.assertEqual(bn.momentum, 0.9)

  def testReestimate_RejectsNoBatches(self):
    model, _ = _model()
    with self.assertRaisesRegex(ValueError, "^bn_batches must be >= 1"):
      batch_norm_stats.reestimate(model, 0, _BATCH, _NZ)

  def testReestimated_RestoresTheSearchStatisticsOnExit(self):
    model, _ = _model()
    bn = batch_norm_stats.batch_norms(model)[0]
    before = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    z = _latents(1, seed=5)[0]
    plain = model(z, training=False).numpy()
    with batch_norm_stats.reestimated(model, 3, _BATCH, _NZ):
      inside = model(z, training=False).numpy()
      self.assertNotAllClose(bn.moving_mean.numpy(), before[0])
    self.assertNotAllClose(inside, plain)
    self.assertAllEqual(bn.moving_mean.numpy(), before[0])
    self.assertAllEqual(bn.moving_variance.numpy(), before[1])
    self.assertAllEqual(model(z, training=False).numpy(), plain)

  def testBatchNorms_FindsTheNestedOnesOfEveryGenerator(self):
    for arch, classes in (("gfmn", 0), ("sngan", 0), ("biggan", 2)):
      options = {"num_classes": classes} if classes else {}
      g = generators.build(arch, 32, width=4, nz=8, **options)
      found = batch_norm_stats.batch_norms(g)
      # BigGAN's conditional batch norms hold theirs inside.
      self.assertGreaterEqual(len(found), 3, arch)
      self.assertEqual(batch_norm_stats.reestimate(g, 1, 4, 8, classes),
                       len(found))

  def testReestimate_ModelWithoutBatchNormIsLeftAlone(self):
    z = keras.Input((_NZ,))
    model = keras.Model(z, keras.layers.Dense(2)(z))
    self.assertEqual(batch_norm_stats.reestimate(model, 2, _BATCH, _NZ), 0)


if __name__ == "__main__":
  tf.test.main()
