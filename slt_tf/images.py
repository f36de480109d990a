"""Image grids and atomic PNG writing, shared by every place that shows samples."""

import math
import os
import tempfile

import numpy as np
import tensorflow as tf


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


def write_atomic(path: str, data: bytes) -> None:
  """Writes bytes to ``path`` through a temporary file and a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_png(path: str, image) -> None:
  """Writes one (H, W, C) uint8 image (or [-1, 1] floats) as PNG, atomically."""
  image = np.asarray(image)
  if image.dtype != np.uint8:
    image = to_uint8(image)
  write_atomic(path, tf.io.encode_png(image).numpy())
