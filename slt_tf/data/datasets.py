"""Image datasets: TFDS by name, image folders, and the embedded default.

``--dataset`` takes:

* a TFDS name, e.g. ``celeb_a``, ``lsun/bedroom``, ``cifar10``, ``mnist``, read
  from ``--data_dir`` (TFDS's default when unset). A dataset that is not prepared
  there fails at once with instructions; a download is attempted only with
  ``--download`` (a blocked download retries for minutes before failing).
* ``folder:PATH``: every .png/.jpg/.jpeg/.bmp/.gif file under PATH, recursively,
  in sorted order.
* ``mnist_embedded`` (``slt_tf.data.embedded_mnist``): prepared from files installed
  with pip, never downloaded.
* ``fashion_mnist`` is a TFDS name that also works offline: prepared in TFDS's
  format from the local IDX files of Debian's ``dataset-fashion-mnist`` when
  they are there (``slt_tf.data.local_tfds``), else downloaded by TFDS with
  ``--download``. Its 28x28 images are resized to the resolution like any
  other (bilinear, antialiased: the authors' ``Resize``), not padded. Its
  selection split is the first 10,000 train images, which ``train`` then
  leaves out (``SELECTION_FROM_TRAIN``); its 10,000 test images are the
  report split.

Images are resized so that their shorter side equals the resolution, then
center-cropped (the authors' ``Resize`` + ``CenterCrop``), grayscale is repeated
to RGB, and pixels are scaled to the generator's range [-1, 1]. Whether the
data are gray is kept apart (``channels``): a search's generator draws as many
channels as its data have.
"""

import dataclasses
import os
from typing import NamedTuple, Optional, Tuple

from absl import logging
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from slt_tf import fileio
from slt_tf.data import embedded_mnist
from slt_tf.data import folders
from slt_tf.data import images as images_lib
from slt_tf.data import local_tfds
from slt_tf import errors

FOLDER_PREFIX = folders.PREFIX
IMAGE_EXTENSIONS = folders.IMAGE_EXTENSIONS
EMBEDDED = embedded_mnist.NAME


DataError = errors.DataError
# TFDS datasets whose selection split is held out of ``train`` (this many
# images, at most a sixth of it), so that their whole ``test`` split is the
# report split, read by no search, keeper or pilot. The rest of ``train`` is
# what ``train`` then reads: the search's statistics, the feature net's and
# the domain evaluator's training.
SELECTION_FROM_TRAIN = {"fashion_mnist": 10_000}

@dataclasses.dataclass(frozen=True)
class Images:
  """A finite dataset of preprocessed examples.

  Attributes:
    dataset: unbatched ``tf.data.Dataset`` of float32 images (H, W, 3) in
      [-1, 1], or of ``(image, label)`` pairs when loaded with labels.
    count: number of examples.
    num_classes: number of label classes (0 when the source has no labels).
  """
  dataset: tf.data.Dataset
  count: int
  num_classes: int


def preprocess(image, resolution: int) -> tf.Tensor:
  """uint8 (H, W, C) -> float32 (resolution, resolution, 3) in [-1, 1].

  The shorter side is resized to ``resolution`` (bilinear, antialiased) and the
  center square is cropped; one channel is repeated to three.
  """
  image = tf.convert_to_tensor(image)
  if image.shape.rank != 3:
    raise ValueError(f"expected an (H, W, C) image, got shape {image.shape}")
  image = tf.cast(image, tf.float32)
  if image.shape[-1] == 1:
    image = tf.tile(image, [1, 1, 3])
  elif image.shape[-1] == 4:
    image = image[..., :3]
  shape = tf.shape(image)
  h, w = shape[0], shape[1]
  scale = resolution / tf.cast(tf.minimum(h, w), tf.float32)
  new_h = tf.maximum(resolution, tf.cast(
      tf.round(tf.cast(h, tf.float32) * scale), tf.int32))
  new_w = tf.maximum(resolution, tf.cast(
      tf.round(tf.cast(w, tf.float32) * scale), tf.int32))
  image = tf.cond(
      tf.logical_and(tf.equal(new_h, h), tf.equal(new_w, w)),
      lambda: image,
      lambda: tf.image.resize(image, [new_h, new_w], "bilinear",
                              antialias=True))
  top, left = (new_h - resolution) // 2, (new_w - resolution) // 2
  image = image[top:top + resolution, left:left + resolution]
  image = tf.ensure_shape(image, [resolution, resolution, 3])
  return images_lib.from_uint8(tf.clip_by_value(image, 0.0, 255.0))


def _not_found(name: str) -> str:
  return (f"dataset {name!r} is not a TFDS dataset, '{EMBEDDED}', or "
          f"'{FOLDER_PREFIX}PATH' (see https://www.tensorflow.org/datasets/"
          "catalog/overview)")


def _tfds_builder(name: str, data_dir: Optional[str], download: bool):
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError:
    raise DataError(_not_found(name)) from None
  if builder.is_prepared():
    return builder
  if name == EMBEDDED:
    return _prepare_once(name, data_dir, builder)
  local = name in local_tfds.names()
  source = local_tfds.find_dir() if local else None
  if source:
    return _prepare_once(name, data_dir, builder, source)
  if not download:
    if local:
      raise DataError(f"dataset {name!r} is not prepared in "
                      f"{builder.data_dir_root} and its files are not on "
                      f"this machine: {local_tfds.missing_text(name)}")
    raise DataError(
        f"dataset {name!r} is not prepared in {builder.data_dir_root}: "
        f"prepare it with `tfds build {name} --data_dir=DIR` and pass "
        "--data_dir=DIR, or add --download to let TFDS fetch it (needs "
        "internet; some datasets need a manual download, see "
        f"https://www.tensorflow.org/datasets/catalog/{name.split('/')[0]})")
  return _prepare_once(name, data_dir, builder)


def _prepare_once(name: str, data_dir: Optional[str], builder,
                  source: Optional[str] = None):
  """Prepares ``name`` under a lock (from the local files in ``source``
  when given: ``slt_tf.data.local_tfds``): the shards of a study start
  together on a fresh machine, and two preparations of one dataset collide
  in TFDS's final rename."""
  lock = os.path.join(builder.data_dir_root,
                      ".prepare-" + name.replace("/", "_"))
  with fileio.locked(lock):
    builder = tfds.builder(name, data_dir=data_dir)  # Another may have won.
    if builder.is_prepared():
      return builder
    if source:
      logging.info("preparing %s from %s in %s (local files, no download)",
                   name, source, builder.data_dir_root)
      local_tfds.prepare(name, data_dir, source)
      return tfds.builder(name, data_dir=data_dir)
    if name == EMBEDDED:
      logging.info("preparing %s from %s in %s (local files, no download)",
                   name, embedded_mnist.source_path(), builder.data_dir_root)
      tfds.disable_progress_bar()
    builder.download_and_prepare()
    return builder


def _split_size(builder, dataset: str, split: str) -> int:
  try:
    return builder.info.splits[split].num_examples
  except (KeyError, ValueError):
    raise DataError(f"dataset {dataset!r} has no split {split!r}; it has "
                    f"{sorted(builder.info.splits)} (slices such as "
                    "'test[:50%]' work too)") from None


class HeldOutSplits(NamedTuple):
  """Two disjoint splits outside the search's: checkpoints are selected on
  ``selection`` and metrics reported on ``report``."""
  selection: str
  report: str


class Source:
  """A dataset as ``--dataset`` names it, with where it is read from.

  Every reader asks a dataset the same questions (its channels, whether it
  has labels, what caches key it by, its held-out splits, its images); each
  kind of source answers them in its own class, and ``source`` is the one
  place a name picks the kind.

  Attributes:
    name: the ``--dataset`` value.
    data_dir: TFDS data directory (None: TFDS's default).
    holdout: an image folder's held-out fraction (``slt_tf.data.folders``).
    download: let TFDS download and prepare a missing dataset.
  """

  def __init__(self, name: str, data_dir: Optional[str] = None,
               holdout: float = folders.HOLDOUT, download: bool = False):
    self.name, self.data_dir = name, data_dir
    self.holdout, self.download = holdout, download

  def channels(self) -> int:
    """The images' channels: 1 when they are gray, else 3."""
    raise NotImplementedError

  def labelled(self) -> bool:
    """Whether the dataset has class labels."""
    raise NotImplementedError

  def identity(self) -> str:
    """What caches key the dataset by."""
    return self.name

  def check(self, split: str = "train") -> None:
    """Fails fast with a ``DataError`` when ``split`` is unusable."""
    raise NotImplementedError

  def held_out_splits(self) -> HeldOutSplits:
    """(selection split, report split): two disjoint splits outside the
    search's. Checkpoints are selected on the first and metrics reported on
    the second, never on the split used for selection."""
    raise NotImplementedError

  def load(self, resolution: int, split: str = "train",
           with_labels: bool = False,
           shuffle_seed: Optional[int] = None) -> Images:
    """The split's images preprocessed to ``resolution``, in a
    deterministic order (see the module doc)."""
    raise NotImplementedError


class FolderSource(Source):
  """``folder:PATH``: its classes, split subfolders or hashed hold-out and
  content digest come from ``slt_tf.data.folders``."""

  def _folder(self):
    return folders.scan(self.name, self.holdout)

  def channels(self) -> int:
    return self._folder().channels  # Every file's header: all gray -> 1.

  def labelled(self) -> bool:
    return self._folder().labelled

  def identity(self) -> str:
    # A path alone names no content: the files' digest, and the hold-out.
    split = "" if self._folder().explicit else f",holdout={self.holdout:g}"
    return (f"{self.name}#{folders.content_digest(self.name, self.holdout)}"
            f"{split}")

  def check(self, split: str = "train") -> None:
    self._folder().files(split)

  def held_out_splits(self) -> HeldOutSplits:
    folder = self._folder()
    for split in ("validation", "test"):
      folder.files(split)  # Neither may be empty.
    return HeldOutSplits("validation", "test")

  def load(self, resolution: int, split: str = "train",
           with_labels: bool = False,
           shuffle_seed: Optional[int] = None) -> Images:
    folder = self._folder()
    if with_labels and not folder.labelled:
      raise DataError(f"dataset {self.name}: the folder has no labels (give "
                      "it one subfolder per class)")
    pairs = folder.files(split)
    if shuffle_seed is not None:
      pairs = [pairs[i] for i in
               np.random.default_rng(shuffle_seed).permutation(len(pairs))]
    paths = tf.constant([p for p, _ in pairs])
    labels = tf.constant([label for _, label in pairs], tf.int64)
    decode = lambda f: preprocess(tf.io.decode_image(
        tf.io.read_file(f), channels=3, expand_animations=False), resolution)
    if with_labels:
      ds = tf.data.Dataset.from_tensor_slices((paths, labels)).map(
          lambda f, y: (decode(f), y), num_parallel_calls=tf.data.AUTOTUNE,
          deterministic=True)
    else:
      ds = tf.data.Dataset.from_tensor_slices(paths).map(
          decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return Images(ds, len(pairs), len(folder.class_names))


class TfdsSource(Source):
  """A TFDS dataset by name, prepared in ``data_dir`` (offline from local
  files where ``slt_tf.data.local_tfds`` knows them)."""

  def _builder(self, download: bool = False):
    return _tfds_builder(self.name, self.data_dir, download)

  def _features(self):
    # The catalogue's description: neither prepared nor downloaded for it.
    try:
      return tfds.builder(self.name, data_dir=self.data_dir).info.features
    except tfds.core.registered.DatasetNotFoundError:
      raise DataError(_not_found(self.name)) from None

  def channels(self) -> int:
    features = self._features()
    image = features["image"] if "image" in features else None
    shape = getattr(image, "shape", None) or (None,)
    return 1 if shape[-1] == 1 else 3

  def labelled(self) -> bool:
    features = self._features()
    return "label" in features and bool(
        getattr(features["label"], "num_classes", 0))

  def identity(self) -> str:
    if self.name in SELECTION_FROM_TRAIN:
      # What "train" reads changed when the selection split left it.
      return f"{self.name}#selection-held-out-of-train"
    return self.name

  def check(self, split: str = "train") -> None:
    _split_size(self._builder(self.download), self.name, split)

  def _held_out_of_train(self, builder) -> int:
    """Images of ``train`` held out for selection (0: none;
    ``SELECTION_FROM_TRAIN``)."""
    wanted = SELECTION_FROM_TRAIN.get(self.name, 0)
    if not wanted:
      return 0
    return min(wanted, builder.info.splits["train"].num_examples // 6)

  def held_out_splits(self) -> HeldOutSplits:
    """A dataset of ``SELECTION_FROM_TRAIN`` selects on the first images of
    ``train`` (which ``train`` then leaves out) and reports on ``test``.
    Otherwise, with a ``test`` and a ``validation`` split these are
    (validation, test); with one of them, its two halves."""
    builder = self._builder()
    held = self._held_out_of_train(builder)
    if held:
      return HeldOutSplits(f"train[:{held}]", "test")
    splits = set(builder.info.splits)
    if {"validation", "test"} <= splits:
      return HeldOutSplits("validation", "test")
    for name in ("test", "validation"):
      if name in splits:
        return HeldOutSplits(f"{name}[:50%]", f"{name}[50%:]")
    raise DataError(f"dataset {self.name!r} has no test or validation split "
                    f"(it has {sorted(splits)})")

  def load(self, resolution: int, split: str = "train",
           with_labels: bool = False,
           shuffle_seed: Optional[int] = None) -> Images:
    self.check(split)
    builder = self._builder(self.download)
    held = self._held_out_of_train(builder)
    if held and split == "train":
      split = f"train[{held}:]"  # The rest of train: see SELECTION_FROM_TRAIN.
    features = builder.info.features
    label = features["label"] if "label" in features else None
    num_classes = getattr(label, "num_classes", 0) or 0
    if with_labels and not num_classes:
      raise DataError(f"dataset {self.name!r} has no class labels")
    # TFDS stored the split shuffled when it prepared it: shuffle_seed has
    # nothing to add (and tf.data's shuffle would depend on the global seed).
    ds = builder.as_dataset(split=split, shuffle_files=False)
    if with_labels:
      fn = lambda ex: (preprocess(ex["image"], resolution), ex["label"])
    else:
      fn = lambda ex: preprocess(ex["image"], resolution)
    ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return Images(ds, _split_size(builder, self.name, split), num_classes)


class EmbeddedSource(TfdsSource):
  """``mnist_embedded``: a TFDS dataset prepared from files pip installed
  (``slt_tf.data.embedded_mnist``), never downloaded."""

  def channels(self) -> int:
    return embedded_mnist.CHANNELS

  def labelled(self) -> bool:
    return True


def source(dataset: str, data_dir: Optional[str] = None,
           holdout: float = folders.HOLDOUT, download: bool = False
           ) -> Source:
  """The ``Source`` of ``dataset`` (a TFDS name, ``folder:PATH`` or
  ``mnist_embedded``): the one place its name picks its kind."""
  if folders.is_folder(dataset):
    return FolderSource(dataset, data_dir, holdout, download)
  if dataset == EMBEDDED:
    return EmbeddedSource(dataset, data_dir, holdout, download)
  return TfdsSource(dataset, data_dir, holdout, download)


# The readers' calls by name: each is its source's method.


def channels(dataset: str, data_dir: Optional[str] = None,
             holdout: float = folders.HOLDOUT) -> int:
  """``Source.channels``: 1 when the images are gray, else 3, read from the
  TFDS feature's shape (no download needed) or every file's header.

  Raises:
    DataError: the dataset is unknown, or the folder has no images.
  """
  return source(dataset, data_dir, holdout).channels()


def identity(dataset: str, data_dir: Optional[str] = None,
             holdout: float = folders.HOLDOUT) -> str:
  """``Source.identity``: what caches key a dataset by."""
  return source(dataset, data_dir, holdout).identity()


def labelled(dataset: str, data_dir: Optional[str] = None,
             holdout: float = folders.HOLDOUT) -> bool:
  """``Source.labelled``: whether the dataset has class labels."""
  return source(dataset, data_dir, holdout).labelled()


def check(dataset: str, split: str = "train", data_dir: Optional[str] = None,
          download: bool = False, holdout: float = folders.HOLDOUT) -> None:
  """``Source.check``: a ``DataError`` at once when ``dataset``/``split`` is
  unusable. Prepares the embedded default, and any TFDS dataset when
  ``download``."""
  source(dataset, data_dir, holdout, download).check(split)


def held_out_splits(dataset: str, data_dir: Optional[str] = None,
                    holdout: float = folders.HOLDOUT) -> HeldOutSplits:
  """``Source.held_out_splits``: (selection split, report split).

  Raises:
    DataError: a TFDS dataset without a held-out split, or a folder whose
      held-out splits are empty.
  """
  return source(dataset, data_dir, holdout).held_out_splits()


def load(dataset: str, resolution: int, split: str = "train",
         data_dir: Optional[str] = None, download: bool = False,
         with_labels: bool = False,
         shuffle_seed: Optional[int] = None,
         holdout: float = folders.HOLDOUT) -> Images:
  """``Source.load``: the split's images preprocessed to ``resolution``.

  Args:
    dataset: a TFDS name, ``folder:PATH`` or ``mnist_embedded``.
    resolution: output height and width.
    split: TFDS split, or a folder's ``train``, ``validation`` or ``test``.
    data_dir: TFDS data directory.
    download: let TFDS download and prepare a missing dataset.
    with_labels: yield ``(image, label)``; fails for sources without labels.
    shuffle_seed: a folder's files in one fixed shuffled order (a NumPy
      permutation from this seed, independent of TensorFlow's global seed);
      None keeps them sorted. A TFDS split keeps its stored order, which TFDS
      shuffled when it prepared it.
    holdout: a folder's held-out fraction (``slt_tf.data.folders``).

  Raises:
    DataError: the dataset or split is missing, or has no labels when asked.
  """
  return source(dataset, data_dir, holdout, download).load(
      resolution, split, with_labels, shuffle_seed)


def batched(ds: tf.data.Dataset, batch_size: int,
            shuffle_seed: Optional[int] = None, repeat: bool = False,
            drop_remainder: bool = False, cache: bool = False
            ) -> tf.data.Dataset:
  """Shuffled (with a seed, reshuffled per epoch), repeated, batched, prefetched.

  Args:
    ds: unbatched dataset.
    batch_size: examples per batch.
    shuffle_seed: shuffle with this seed; None keeps the order.
    repeat: repeat for ever.
    drop_remainder: drop a last partial batch.
    cache: hold the preprocessed examples in memory (small datasets).
  """
  if cache:
    ds = ds.cache()
  if shuffle_seed is not None:
    ds = ds.shuffle(10_000, seed=shuffle_seed, reshuffle_each_iteration=True)
  if repeat:
    ds = ds.repeat()
  return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE)


def image_shape(resolution: int) -> Tuple[int, int, int]:
  return (resolution, resolution, 3)
