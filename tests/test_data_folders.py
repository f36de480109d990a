"""Image folders: labels from class subfolders, held-out splits by a hash of
each file's path (disjoint, stable when files are added), explicit split
subfolders, and one-line errors for folders that cannot be used."""

import os
import struct

import numpy as np
import tensorflow as tf

from slt_tf.data import datasets
from slt_tf.data import folders


def write_png(path, value=0, channels=1, size=8):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image = np.full((size, size, channels), value, np.uint8)
  with open(path, "wb") as f:
    f.write(tf.io.encode_png(image).numpy())


def labelled_folder(root, classes=("a", "b", "c"), per_class=40, start=0):
  for c in classes:
    for i in range(start, start + per_class):
      write_png(os.path.join(root, c, f"{i:03d}.png"), 10 * i % 250)
  return f"folder:{root}"


def split_sets(folder):
  return {s: {os.path.relpath(p, folder.root) for p, _ in folder.splits[s]}
          for s in folders.SPLITS}


class FolderTest(tf.test.TestCase):

  def testClassSubfolders_SortedNamesAreTheLabels(self):
    dataset = labelled_folder(self.get_temp_dir() + "/l", ("dog", "cat"))
    folder = folders.scan(dataset)
    self.assertEqual(folder.class_names, ("cat", "dog"))
    for split, pairs in folder.splits.items():
      for path, label in pairs:
        self.assertEqual(folder.class_names[label],
                         os.path.basename(os.path.dirname(path)), split)
    images = datasets.load(dataset, 8, "train", with_labels=True)
    labels = [int(y) for _, y in images.dataset]
    self.assertEqual(labels, [l for _, l in folder.splits["train"]])
    self.assertEqual(images.num_classes, 2)

  def testHeldOut_DisjointCoveringAndStableWhenFilesAreAdded(self):
    root = self.get_temp_dir() + "/h"
    dataset = labelled_folder(root, per_class=60)
    before = split_sets(folders.scan(dataset, 0.3))
    names = [n for s in before.values() for n in s]
    self.assertLen(names, 180)
    self.assertLen(set(names), 180)  # Disjoint, and every file is somewhere.
    # About the fraction asked for, in every class (stratified in expectation).
    held = len(before["validation"]) + len(before["test"])
    self.assertBetween(held / 180, 0.15, 0.45)
    labelled_folder(root, per_class=30, start=60)  # 90 new files.
    after = split_sets(folders.scan(dataset, 0.3))
    for split in folders.SPLITS:
      self.assertEqual(after[split] & set(names), before[split], split)
    self.assertEqual(datasets.held_out_splits(dataset, holdout=0.3),
                     ("validation", "test"))
    # The rule is the hash of the relative path: a copy elsewhere agrees.
    self.assertEqual(folders.split_of("a/001.png", 0.3),
                     folders.split_of(os.path.join("a", "001.png"), 0.3))

  def testExplicitSplitSubfolders_UsedAsTheyAre(self):
    root = self.get_temp_dir() + "/e"
    for split, n in (("train", 6), ("validation", 2), ("test", 3)):
      for c in ("x", "y"):
        for i in range(n):
          write_png(os.path.join(root, split, c, f"{i}.png"))
    folder = folders.scan(f"folder:{root}")
    self.assertTrue(folder.explicit)
    self.assertEqual({s: len(p) for s, p in folder.splits.items()},
                     {"train": 12, "validation": 4, "test": 6})
    self.assertEqual(folder.class_names, ("x", "y"))

  def testLooseFiles_Unlabelled(self):
    root = self.get_temp_dir() + "/u"
    for i in range(30):
      write_png(os.path.join(root, f"{i}.png"), channels=3)
    write_png(os.path.join(root, "more", "x.png"), channels=3)
    dataset = f"folder:{root}"
    folder = folders.scan(dataset)
    self.assertFalse(folder.labelled)
    self.assertEqual(sum(len(p) for p in folder.splits.values()), 31)
    self.assertFalse(datasets.labelled(dataset))
    self.assertEqual(datasets.channels(dataset), 3)
    with self.assertRaisesRegex(datasets.DataError,
                                "^dataset folder:.* has no labels"):
      datasets.load(dataset, 8, "train", with_labels=True)

  def testIdentity_ChangesWithTheFilesNotThePathAlone(self):
    root = self.get_temp_dir() + "/i"
    dataset = labelled_folder(root, per_class=10)
    first = datasets.identity(dataset)
    self.assertEqual(datasets.identity(dataset), first)
    write_png(os.path.join(root, "a", "000.png"), 123)  # Same name, new bytes.
    self.assertNotEqual(datasets.identity(dataset), first)
    self.assertEqual(datasets.identity("mnist"), "mnist")

  def testFilesCutShort_NamedAtTheScanCompleteOnesDecode(self):
    """Every kind is written complete, then cut short one at a time; the
    complete files are decoded by TensorFlow, as the search will."""
    root = self.get_temp_dir() + "/cut"
    labelled_folder(root, per_class=40)
    image = np.full((8, 8, 3), 90, np.uint8)
    pixels = bytes(8 * 8 * 3)
    bmp = (b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
           + struct.pack("<IiiHHIIiiII", 40, 8, 8, 1, 24, 0, len(pixels),
                         2835, 2835, 0, 0) + pixels)
    files = {"a/x.png": tf.io.encode_png(image).numpy(),
             "b/x.jpg": tf.io.encode_jpeg(image).numpy(),
             "c/x.bmp": bmp}
    for name, data in files.items():
      with open(os.path.join(root, name), "wb") as f:
        f.write(data)
      self.assertEqual(tf.io.decode_image(data, channels=3).shape, (8, 8, 3))
    folders.scan(f"folder:{root}")
    for name, data in files.items():
      with open(os.path.join(root, name), "wb") as f:
        f.write(data[:len(data) * 2 // 3])
      with self.assertRaisesRegex(datasets.DataError,
                                  f"^dataset folder:{root}: .*{name} is cut "
                                  "short .*remove or replace it$"):
        folders.scan(f"folder:{root}")
      with self.assertRaises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data[:len(data) * 2 // 3], channels=3)
      with open(os.path.join(root, name), "wb") as f:
        f.write(data)

  def testBadFolders_OneLineErrorsNamingThem(self):
    root = self.get_temp_dir() + "/bad"
    labelled_folder(root, per_class=40)
    with open(os.path.join(root, "a", "notes.png"), "w") as f:
      f.write("not an image")
    with self.assertRaisesRegex(datasets.DataError,
                                "^dataset folder:.*notes.png is not a PNG"):
      folders.scan(f"folder:{root}")
    few = self.get_temp_dir() + "/few"
    labelled_folder(few, ("a", "b"), per_class=1)  # Too few to hold out.
    with self.assertRaisesRegex(
        datasets.DataError, "^dataset folder:.*(has no image in split|split "
        "'(validation|test)' has no images)"):
      datasets.held_out_splits(f"folder:{few}")
    with self.assertRaisesRegex(datasets.DataError, "^holdout must be"):
      folders.scan(f"folder:{few}", 1.5)
    with self.assertRaisesRegex(datasets.DataError, "no such directory"):
      folders.scan("folder:/nonexistent/images")
    with self.assertRaisesRegex(datasets.DataError, "not 'test\\[:50%\\]'"):
      datasets.load(labelled_folder(self.get_temp_dir() + "/s"), 8,
                    "test[:50%]")


if __name__ == "__main__":
  tf.test.main()
