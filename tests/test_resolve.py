"""Tests for slt_tf.resolve: what a configuration takes from its data."""

import dataclasses
import os

import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.resolve import resolve
import testutil


class ResolveTest(tf.test.TestCase):

  def testChannels_FromTheDataset_OnlyWhenNotGiven(self):
    config = TrainConfig.make(workdir="w", dataset="mnist_embedded",
                         data_dir=testutil.data_dir())
    self.assertIsNone(config.model.channels)  # Construction reads no data.
    self.assertEqual(resolve(config).model.channels, 1)  # Gray digits.
    given = config.replace(channels=3)
    self.assertIs(resolve(given), given)

  def testImageFolder_ChannelsAndSortedClassNames(self):
    root = os.path.join(self.get_temp_dir(), "images")
    for label in ("zebra", "ant"):
      os.makedirs(os.path.join(root, label))
      for i in range(3):
        image = tf.cast(tf.fill([8, 8, 3], 40 * i), tf.uint8)
        tf.io.write_file(os.path.join(root, label, f"{i}.png"),
                         tf.io.encode_png(image))
    config = resolve(TrainConfig.make(workdir="w", dataset=f"folder:{root}"))
    self.assertEqual(config.data.class_names, ("ant", "zebra"))
    self.assertEqual(config.model.channels, 3)
    self.assertIs(resolve(config), config)

  def testUnreadableData_OneLineNamingTheFlag(self):
    missing = os.path.join(self.get_temp_dir(), "nothing")
    with self.assertRaisesRegex(ValueError, r"^dataset folder:.*no such") as caught:
      resolve(TrainConfig.make(workdir="w", dataset=f"folder:{missing}"))
    self.assertLen(str(caught.exception).splitlines(), 1)


if __name__ == "__main__":
  tf.test.main()
