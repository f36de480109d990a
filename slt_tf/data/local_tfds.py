"""TFDS datasets prepared from files already on this machine, no download.

Fashion-MNIST (``fashion_mnist``): Debian's package ``dataset-fashion-mnist``
(``apt-get install dataset-fashion-mnist``) installs Zalando's four standard
IDX files, the very files TFDS's own builder downloads, under
``/usr/share/datasets/fashion-mnist/``. When ``fashion_mnist`` is not prepared
in the TFDS data directory and these files are found (in
``$SLT_TF_FASHION_MNIST_DIR``, else in Debian's folder), the dataset is prepared
from them in TFDS's own name, version and format (60,000 train and 10,000
test images, 28x28 gray, 10 classes); TFDS then reads it as if it had
downloaded it. Without them, ``--download`` lets TFDS fetch it.
"""

import gzip
import os
from typing import List, Optional

import numpy as np
import tensorflow_datasets as tfds
from tensorflow_datasets.image_classification import mnist as tfds_mnist

from slt_tf import errors

FASHION_MNIST = "fashion_mnist"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
ENV_DIR = "SLT_TF_FASHION_MNIST_DIR"
# (images, labels) of each split, as Zalando and Debian name them.
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def names() -> List[str]:
  """The TFDS names this module can prepare from local files."""
  return [FASHION_MNIST]


def candidate_dirs() -> List[str]:
  """Where the IDX files are looked for, in order."""
  return [d for d in (os.environ.get(ENV_DIR), DEBIAN_DIR) if d]


def find_dir() -> Optional[str]:
  """The first of ``candidate_dirs()`` holding all four IDX files (gzipped,
  or not: ``NAME`` without ``.gz``); else None."""
  for directory in candidate_dirs():
    if all(_file(directory, f) for pair in FILES.values() for f in pair):
      return directory
  return None


def _file(directory: str, name: str) -> Optional[str]:
  for path in (os.path.join(directory, name),
               os.path.join(directory, name[:-len(".gz")])):
    if os.path.isfile(path):
      return path
  return None


def missing_text(name: str) -> str:
  """What to do when ``name`` is neither prepared nor found locally."""
  return (f"install its files (`apt-get install dataset-fashion-mnist`, or set "
          f"${ENV_DIR} to a folder holding {', '.join(FILES['train'] + FILES['test'])}"
          f"), or add --download to let TFDS fetch {name}")


def read_idx(path: str, labels: bool) -> np.ndarray:
  """An IDX file's array (gzipped or not): images uint8 (N, rows, cols) or
  labels uint8 (N,).

  Raises:
    errors.DataError: naming the file, when it is not such an IDX file.
  """
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as f:
      data = f.read()
  except (OSError, EOFError) as e:
    raise errors.DataError(f"dataset: cannot read {path} ({e})") from None
  magic = _LABELS_MAGIC if labels else _IMAGES_MAGIC
  dims = 1 if labels else 3
  header = 4 + 4 * dims
  if len(data) < header or int.from_bytes(data[:4], "big") != magic:
    raise errors.DataError(f"dataset: {path} is not an IDX file of "
                           f"{'labels' if labels else 'images'}")
  shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big")
                for i in range(dims))
  if len(data) - header != int(np.prod(shape)):
    raise errors.DataError(f"dataset: {path} holds {len(data) - header} "
                           f"bytes after its header, not the {shape} it "
                           "declares (truncated?)")
  return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def read_split(directory: str, split: str):
  """(images uint8 (N, 28, 28, 1), labels int64 (N,)) of a split.

  Raises:
    errors.DataError: a file missing or malformed, or counts that differ.
  """
  image_name, label_name = FILES[split]
  paths = [_file(directory, n) for n in (image_name, label_name)]
  missing = [n for n, p in zip((image_name, label_name), paths) if p is None]
  if missing:
    raise errors.DataError(f"dataset: {directory} lacks {', '.join(missing)}")
  images = read_idx(paths[0], labels=False)
  labels = read_idx(paths[1], labels=True)
  if len(images) != len(labels) or images.shape[1:] != (28, 28):
    raise errors.DataError(
        f"dataset: {paths[0]} holds {images.shape} images and {paths[1]} "
        f"{len(labels)} labels (expected N 28x28 images and N labels)")
  return images[..., None], labels.astype(np.int64)


class LocalFashionMNIST(tfds_mnist.FashionMNIST, skip_registration=True):
  """TFDS's ``fashion_mnist`` (same name, version, features and splits),
  prepared from local IDX files instead of a download."""

  name = FASHION_MNIST

  def __init__(self, *, source_dir: str, **kwargs):
    self._source_dir = source_dir
    super().__init__(**kwargs)

  def _split_generators(self, dl_manager):
    del dl_manager  # The files are on disk already.
    return {split: self._generate_examples(*read_split(self._source_dir,
                                                        split))
            for split in FILES}

  def _generate_examples(self, images, labels):  # pylint: disable=arguments-differ
    for i, (image, label) in enumerate(zip(images, labels)):
      yield i, {"image": image, "label": int(label)}


def prepare(name: str, data_dir: Optional[str], source_dir: str) -> None:
  """Prepares ``name`` in ``data_dir`` (TFDS's default when None) from the
  files in ``source_dir``; the caller holds the preparation lock."""
  if name != FASHION_MNIST:
    raise ValueError(f"no local preparation for {name!r}")
  tfds.disable_progress_bar()
  LocalFashionMNIST(source_dir=source_dir,
                    data_dir=data_dir).download_and_prepare()
