"""The search step's pieces that can be checked alone (the whole step runs in
tests/test_train_lib.py and tests/test_methods.py)."""

import keras
import numpy as np
import tensorflow as tf

from slt_tf.search import step as step_lib


class HingeLossTest(tf.test.TestCase):

  def testHingeLosses_MatchNumPy(self):
    """A linear stand-in discriminator makes the hinge terms computable."""
    inputs = keras.Input((2, 2, 1))
    logits = keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(
        inputs))
    discriminator = keras.Model(inputs, logits)
    weights = np.array([[0.5], [-1.0], [2.0], [0.25]], np.float32)
    discriminator.set_weights([weights])
    optimizer = keras.optimizers.SGD(0.0)  # Keep D fixed for the g_loss.
    real = np.random.RandomState(0).randn(6, 2, 2, 1).astype(np.float32)
    fake = np.random.RandomState(1).randn(6, 2, 2, 1).astype(np.float32)
    with tf.GradientTape() as tape:
      fake_t = tf.identity(tf.constant(fake))
    g_loss, values = step_lib.adversarial_losses(
        tape, fake_t, tf.constant(real), discriminator, optimizer, 1)
    d = lambda x: x.reshape(len(x), -1) @ weights
    expected_d = (np.mean(np.maximum(0, 1 - d(real)))
                  + np.mean(np.maximum(0, 1 + d(fake))))
    self.assertAllClose(values["d_loss"], expected_d, rtol=1e-5)
    self.assertAllClose(g_loss, -np.mean(d(fake)), rtol=1e-5)


if __name__ == "__main__":
  tf.test.main()
