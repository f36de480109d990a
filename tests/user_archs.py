"""User architectures for the tests of ``--arch=MODULE:FUNCTION``: one that
works and one for each way a function can be wrong. Imported by name
(``user_archs:...``) as a user's module is."""

import keras

from examples import dcgan


def tiny(nz, channels, resolution):
  """The README's DCGAN at width 4."""
  return dcgan.build(nz=nz, channels=channels, resolution=resolution, width=4)


def wrong_size(nz, channels, resolution):
  return dcgan.build(nz=nz, channels=channels, resolution=resolution // 2,
                     width=4)


def no_tanh(nz, channels, resolution):
  return keras.Sequential([
      keras.Input((nz,)),
      keras.layers.Dense(resolution * resolution * channels,
                         kernel_initializer="ones"),
      keras.layers.Reshape((resolution, resolution, channels))])


def positional_only(nz):
  return dcgan.build(nz=nz)


def not_a_model(nz, channels, resolution):
  return "a generator"


def with_embedding(nz, channels, resolution):
  z = keras.Input((nz,))
  x = keras.layers.Dense(resolution * resolution * channels,
                         activation="tanh")(z)
  x = keras.layers.Reshape((resolution * resolution * channels, 1))(x)
  x = keras.layers.Conv1D(1, 1, activation="tanh", name="c1d")(x)
  return keras.Model(z, keras.layers.Reshape(
      (resolution, resolution, channels))(x))


NOT_CALLABLE = 3
