"""A DCGAN generator in plain Keras, searched for a strong ticket with
``python -m slt_tf.train --arch=examples.dcgan:build`` (README, "Your own
generator")."""

import keras
from keras import layers


def build(nz=100, channels=1, resolution=32, width=64):
  size = resolution // 8  # Three stride-2 transposed convolutions up.
  up = lambda filters: [
      layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                             use_bias=False),
      layers.BatchNormalization(), layers.ReLU()]
  return keras.Sequential([
      keras.Input((nz,)),
      layers.Dense(size * size * 4 * width, use_bias=False),
      layers.BatchNormalization(), layers.ReLU(),
      layers.Reshape((size, size, 4 * width)),
      *up(2 * width), *up(width),
      layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                             activation="tanh"),
  ], name="dcgan")
