"""The generator's inputs and real batches: pure functions of (seed, step)."""

import dataclasses

import numpy as np
import tensorflow as tf

from slt_tf.data import datasets
from slt_tf.generators import inputs as inputs_lib
from slt_tf.generators import TicketOptions
from slt_tf.search import latents
from slt_tf.search import state as state_lib
import testutil


class LatentsTest(tf.test.TestCase):

  def testStepLatents_AFunctionOfSeedAndStep(self):
    config = testutil.tiny_config("unused")
    a = latents.step_latents(config, 3)
    self.assertAllEqual(a[0], latents.step_latents(config, 3)[0])
    self.assertNotAllClose(a[0], latents.step_latents(config, 4)[0])
    self.assertEqual(a[0].shape, (config.optim.batch_size, config.model.latent_size))
    other = testutil.tiny_config("unused", ticket=TicketOptions(
        keep_ratio=0.1, seed=2))
    self.assertNotAllClose(a[0], latents.step_latents(other, 3)[0])

  def testGeneratorInput_ZAloneOrZWithLabels(self):
    z, labels = tf.zeros([2, 3]), tf.zeros([2], tf.int32)
    self.assertIs(inputs_lib.generator_input([z]), z)
    self.assertEqual(inputs_lib.generator_input([z, labels]), [z, labels])


class RealBatchTest(tf.test.TestCase):

  def testRealBatch_AFunctionOfSeedAndStepDrawnFromTheDataset(self):
    config = testutil.tiny_config("unused", method="adversarial_ticket")
    images = state_lib.real_images_in_memory(config)
    self.assertEqual(images.dtype, tf.uint8)
    self.assertEqual(images.shape[0], config.data.max_real_images)
    reference = np.concatenate([b.numpy() for b in datasets.load(
        config.data.dataset, 32, "train", config.data.data_dir).dataset.take(
            config.data.max_real_images).batch(64)])
    self.assertAllClose(images.numpy() / 127.5 - 1.0, reference,
                        atol=1 / 127.5)
    a = latents.real_batch(config, images, 5)
    self.assertAllEqual(a, latents.real_batch(config, images, 5))
    self.assertNotAllClose(a, latents.real_batch(config, images, 6))
    # The generator's channels: one for the gray digits.
    self.assertEqual(a.shape, (config.optim.batch_size, 32, 32, 1))
    # Every image of the batch is one of the dataset's.
    gray = images.numpy()[..., :1].astype(np.float64)
    flat = gray.reshape(len(gray), -1) / 127.5 - 1.0
    for image in a.numpy().reshape(config.optim.batch_size, -1):
      self.assertLess(np.min(np.abs(flat - image).max(axis=1)), 1e-5)
    colour = config.replace(channels=3)
    self.assertEqual(latents.real_batch(colour, images, 5).shape,
                     (config.optim.batch_size, 32, 32, 3))


if __name__ == "__main__":
  tf.test.main()
