"""Building blocks of the generators: batch norm, upsampling, the residual
up-block, the output head, and the checks of channels and resolution.

The masked layers themselves come from the ``LayerFactory`` each builder is
handed (``slt_tf.ticket.options``).
"""

import keras

from slt_tf.ticket.options import LayerFactory


def batch_norm(name=None) -> keras.layers.BatchNormalization:
  """Batch norm with frozen identity affine (gamma=1, beta=0, never trained).

  Moving statistics update in training calls and are used in inference calls.
  Momentum and epsilon are PyTorch's defaults (0.1 -> Keras 0.9, 1e-5), as in the
  authors' code. Statistics are synchronised across replicas, so that a batch
  split over devices normalises as the whole batch would.
  """
  return keras.layers.BatchNormalization(
      center=False, scale=False, momentum=0.9, epsilon=1e-5, synchronized=True,
      name=name)


def upsample(name=None) -> keras.layers.UpSampling2D:
  return keras.layers.UpSampling2D(2, interpolation="nearest", name=name)


def residual_up_block(make: LayerFactory, x, channels: int, name: str,
                      conv_before_upsample: bool):
  """BN, ReLU, x2, conv3x3, BN, ReLU, conv3x3, plus a 1x1-conv shortcut.

  Args:
    make: the network's layer factory.
    x: input tensor.
    channels: output channels.
    name: prefix of the layer names.
    conv_before_upsample: shortcut order; GFMN applies the 1x1 conv before the
      upsampling (cheaper), SNGAN after.
  """
  h = batch_norm(f"{name}_bn1")(x)
  h = keras.layers.ReLU()(h)
  h = upsample()(h)
  h = make.conv(channels, 3, name=f"{name}_conv1")(h)
  h = batch_norm(f"{name}_bn2")(h)
  h = keras.layers.ReLU()(h)
  h = make.conv(channels, 3, name=f"{name}_conv2")(h)
  if conv_before_upsample:
    skip = upsample()(make.conv(channels, 1, name=f"{name}_skip")(x))
  else:
    skip = make.conv(channels, 1, name=f"{name}_skip")(upsample()(x))
  return keras.layers.Add()([h, skip])


CHANNELS = (1, 3)


def check_channels(channels) -> int:
  if channels not in CHANNELS:
    raise ValueError(f"channels must be one of {CHANNELS} (gray or colour), "
                     f"got {channels!r}")
  return int(channels)


def to_rgb_head(make: LayerFactory, x, whole: bool, channels: int = 3):
  """BN, ReLU, conv3x3 to ``channels`` (1 gray, 3 colour), tanh: every
  generator's output head. (The layer keeps the name ``to_rgb`` for both, so
  checkpoints of either kind name it alike.)"""
  x = batch_norm("out_bn")(x)
  x = keras.layers.ReLU()(x)
  return make.conv(check_channels(channels), 3, name="to_rgb", whole=whole,
                   activation="tanh")(x)


def check_resolution(arch: str, resolution, supported) -> int:
  if resolution not in supported:
    raise ValueError(f"resolution must be one of {tuple(supported)} for arch "
                     f"{arch!r}, got {resolution!r}")
  return int(resolution)
