"""Fashion-MNIST prepared offline from local IDX files (files the tests
write: the same format as Debian's dataset-fashion-mnist, smaller)."""

import os

import numpy as np
import tensorflow as tf

from slt_tf.data import datasets
from slt_tf.data import local_tfds
from slt_tf import errors
import testutil


class LocalFashionMnistTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.source = os.path.join(self.get_temp_dir(), "idx")
    self.written = testutil.write_idx(self.source)
    os.environ[local_tfds.ENV_DIR] = self.source
    self.addCleanup(os.environ.pop, local_tfds.ENV_DIR, None)

  def testReadIdx_RoundTripAndMalformedFilesNamed(self):
    images, labels = local_tfds.read_split(self.source, "test")
    self.assertAllEqual(images[..., 0], self.written["test"][0])
    self.assertAllEqual(labels, self.written["test"][1])
    bad = os.path.join(self.get_temp_dir(), "bad-images-idx3-ubyte")
    with open(bad, "wb") as f:
      f.write((2049).to_bytes(4, "big") + bytes(8))
    with self.assertRaisesRegex(errors.DataError, f"^dataset: {bad} is not"):
      local_tfds.read_idx(bad, labels=False)
    with open(bad, "wb") as f:  # Declares 5 images, holds 1.
      f.write((2051).to_bytes(4, "big") + b"".join(
          v.to_bytes(4, "big") for v in (5, 28, 28)) + bytes(28 * 28))
    with self.assertRaisesRegex(errors.DataError, "truncated"):
      local_tfds.read_idx(bad, labels=False)

  def testNotPrepared_PreparedFromTheFilesAndReadAsTfdsDoes(self):
    data_dir = os.path.join(self.get_temp_dir(), "tfds")
    self.assertEqual(datasets.channels("fashion_mnist", data_dir), 1)
    datasets.check("fashion_mnist", "train", data_dir)
    # The selection split is held out of train (a sixth of these 30 images;
    # 10,000 of the real 60,000), and "train" reads the rest.
    self.assertEqual(datasets.held_out_splits("fashion_mnist", data_dir),
                     ("train[:5]", "test"))
    train = datasets.load("fashion_mnist", 28, "train", data_dir,
                          with_labels=True)
    selection = datasets.load("fashion_mnist", 28, "train[:5]", data_dir,
                              with_labels=True)
    self.assertEqual((train.count, selection.count, train.num_classes),
                     (25, 5, 10))
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in
                           train.dataset.concatenate(selection.dataset)])
    # TFDS stores its own order; compare as multisets of (image, label): the
    # two parts are disjoint and together the written train split.
    expected = sorted((l, (im.astype(np.float32) / 127.5 - 1.0).tobytes())
                      for im, l in zip(*self.written["train"]))
    got = sorted((int(l), x[..., 0].astype(np.float32).tobytes())
                 for x, l in zip(images, labels))
    self.assertEqual([l for l, _ in got], [int(l) for l, _ in expected])
    self.assertEqual(got, [(int(l), b) for l, b in expected])
    self.assertNotEqual(datasets.identity("fashion_mnist"), "fashion_mnist")
    self.assertEqual(datasets.load("fashion_mnist", 32, "test",
                                   data_dir).count, 20)

  def testNeitherPreparedNorOnThisMachine_OneLineSayingBothWays(self):
    empty = os.path.join(self.get_temp_dir(), "empty")
    os.makedirs(empty)
    os.environ[local_tfds.ENV_DIR] = empty
    debian, local_tfds.DEBIAN_DIR = local_tfds.DEBIAN_DIR, empty
    self.addCleanup(setattr, local_tfds, "DEBIAN_DIR", debian)
    with self.assertRaisesRegex(
        errors.DataError, r"^dataset 'fashion_mnist' is not prepared in .*"
        r"`apt-get install dataset-fashion-mnist`.*--download"):
      datasets.check("fashion_mnist", "train",
                     os.path.join(self.get_temp_dir(), "tfds2"))


if __name__ == "__main__":
  tf.test.main()
