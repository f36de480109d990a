"""The one [-1, 1] <-> uint8 conversion, image grids and PNG writing, shared
by every place that stores, serves or shows images."""

import math

import numpy as np
import tensorflow as tf

from slt_tf.fileio import write_atomic


def to_uint8(images) -> tf.Tensor:
  """Generator output in [-1, 1] -> uint8 [0, 255]: rounded half to even,
  outliers clipped. Works eagerly and in graphs (the SavedModel's output),
  on images of any float dtype (a mixed-precision generator's bfloat16)."""
  images = tf.cast(tf.convert_to_tensor(images), tf.float32)
  return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0,
                                  255.0), tf.uint8)


def from_uint8(images) -> tf.Tensor:
  """uint8 images (or floats on the 0..255 scale) -> float32 in [-1, 1]."""
  return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_rgb(images) -> tf.Tensor:
  """(..., 1) gray images as 3 equal channels; colour images unchanged. How
  a gray generator's output reaches the 3-channel feature nets and backbones."""
  images = tf.convert_to_tensor(images)
  if images.shape[-1] == 1:
    return tf.tile(images, [1] * (images.shape.rank - 1) + [3])
  return images


def to_channels(images, channels: int) -> tf.Tensor:
  """Images with ``channels`` channels: gray repeated to colour, or colour
  averaged to gray (exact for the equal channels of gray data)."""
  images = tf.convert_to_tensor(images)
  if images.shape[-1] == channels:
    return images
  if channels == 3:
    return to_rgb(images)
  return tf.reduce_mean(images, axis=-1, keepdims=True)


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
    images = to_uint8(images).numpy()
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
    image = to_uint8(image).numpy()
  write_atomic(path, tf.io.encode_png(image).numpy())
