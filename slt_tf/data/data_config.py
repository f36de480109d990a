"""The real data a search matches: ``DataConfig``, the configuration's
``data`` group. Importable without TensorFlow."""

import dataclasses
from typing import Optional, Tuple

from slt_tf import config_fields


@dataclasses.dataclass(frozen=True)
class DataConfig:
  """Which images, which split, where they and their statistics are kept;
  validated at construction."""
  dataset: str = config_fields.field(
      "mnist_embedded", "A TFDS name (celeb_a, lsun/bedroom, ...), "
      "folder:PATH, or mnist_embedded (5,000 digits shipped with pip).",
      role=config_fields.IDENTITY)
  data_dir: Optional[str] = config_fields.field(
      None, "TFDS data directory (default: TFDS's).",
      role=config_fields.NEITHER)
  split: str = config_fields.field(
      "train", "Split whose feature statistics are matched.",
      role=config_fields.IDENTITY)
  class_names: Tuple[str, ...] = config_fields.field(
      (), "An image folder's classes (its subfolders, sorted; label i is the "
      "i-th), recorded when the run starts.", flag=False)
  holdout: float = config_fields.field(
      0.2, "Image folders without train/, validation/ and test/ subfolders: "
      "the fraction of files held out by a hash of their path, half for "
      "selecting checkpoints and half for reporting.",
      role=config_fields.IDENTITY)
  download: bool = config_fields.field(
      False, "Let TFDS download a missing dataset.", role=config_fields.NEITHER)
  max_real_images: int = config_fields.field(
      0, "Real statistics over the first N images (0: all).",
      role=config_fields.IDENTITY)
  cache_dir: Optional[str] = config_fields.field(
      None, "Cache of real statistics and trained feature nets "
      "(default: $SLT_TF_CACHE or ~/.cache/slt_tf).",
      role=config_fields.NEITHER)

  def __post_init__(self):
    if not self.dataset:
      raise ValueError("dataset is required (a TFDS name, folder:PATH or "
                       "mnist_embedded)")
    if not 0 < self.holdout < 1:
      raise ValueError(f"holdout must be in (0, 1), got {self.holdout}")
    if self.max_real_images < 0:
      raise ValueError(f"max_real_images must be >= 0, got "
                       f"{self.max_real_images}")
    # Frozen dataclass: the normalised field is set once, here.
    object.__setattr__(self, "class_names", tuple(self.class_names))

  def source(self):
    """The ``slt_tf.data.datasets.Source`` of these images: what every
    reader asks (channels, labels, held-out splits, the images themselves).
    Imports TensorFlow when called, not when this module is imported."""
    from slt_tf.data import datasets  # pylint: disable=g-import-not-at-top
    return datasets.source(self.dataset, self.data_dir, self.holdout,
                           self.download)
