"""Image grids and PNG writing, shared by every place that shows samples."""

import math

import numpy as np
import tensorflow as tf

from slt_tf.fileio import write_atomic


def to_uint8(images) -> np.ndarray:
  """Maps generator output in [-1, 1] to uint8 [0, 255] (clipping outliers)."""
  images = np.asarray(images, np.float32)
  return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images, columns=None, padding: int = 2) -> np.ndarray:
  """Tiles a batch (B, H, W, C) into one (rows*(H+p)+p, cols*(W+p)+p, C) image.

  Args:
    images: uint8 or float batch; floats are taken to be in [-1, 1].
    columns: images per row; defaults to ceil(sqrt(B)).
    padding: pixels of black between and around tiles.

  Returns:
    A uint8 array.
  """
  images = np.asarray(images)
  if images.ndim != 4:
    raise ValueError(f"make_grid expects (B, H, W, C), got shape {images.shape}")
  if images.dtype != np.uint8:
    images = to_uint8(images)
  b, h, w, c = images.shape
  columns = columns or int(math.ceil(math.sqrt(b)))
  rows = int(math.ceil(b / columns))
  grid = np.zeros((rows * (h + padding) + padding,
                   columns * (w + padding) + padding, c), np.uint8)
  for i in range(b):
    r, col = divmod(i, columns)
    y, x = padding + r * (h + padding), padding + col * (w + padding)
    grid[y:y + h, x:x + w] = images[i]
  return grid


def write_png(path: str, image) -> None:
  """Writes one (H, W, C) uint8 image (or [-1, 1] floats) as PNG, atomically."""
  image = np.asarray(image)
  if image.dtype != np.uint8:
    image = to_uint8(image)
  write_atomic(path, tf.io.encode_png(image).numpy())
