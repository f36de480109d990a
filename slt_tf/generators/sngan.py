"""SNGAN ResNet generator and discriminator (Miyato et al. 2018).

Generator (the authors' layout): dense z -> 4x4xch, log2(res) - 2 residual
up-blocks of width ch (BN, ReLU, nearest x2, conv3x3, BN, ReLU, conv3x3; shortcut
nearest x2 then 1x1 conv), BN, ReLU, conv3x3 to RGB, tanh.

Discriminator (only for the adversarial-loss baseline; trained densely, spectral
norm on every kernel): an optimised first block, residual down-blocks, ReLU,
global sum pooling, dense to one logit.
"""

import math

import keras

from slt_tf.generators import blocks
from slt_tf.generators import catalog
from slt_tf.ticket.factory import LayerFactory
from slt_tf.ticket.options import TicketOptions

RESOLUTIONS = catalog.ARCHITECTURES["sngan"].resolutions


def build(resolution: int = 64, ch: int = 256, nz: int = 128,
          options: TicketOptions = TicketOptions(),
          channels: int = 3, name: str = "sngan_generator") -> keras.Model:
  """Builds the SNGAN ResNet generator from masked layers.

  Args:
    resolution: 32 (3 blocks) or 64 (4 blocks).
    ch: width of every block.
    nz: latent size.
    options: ticket options shared by every layer.
    channels: output channels, 1 (gray) or 3 (colour).
    name: model name.

  Returns:
    A Keras model mapping z (B, nz) to images (B, res, res, channels) in [-1, 1].
  """
  resolution = blocks.check_resolution("sngan", resolution, RESOLUTIONS)
  nb = int(math.log2(resolution)) - 2
  make = LayerFactory(options)

  z = keras.Input((nz,), name="z")
  x = make.dense(4 * 4 * ch, name="stem", whole=options.first_dense)(z)
  x = keras.layers.Reshape((4, 4, ch))(x)
  for i in range(nb):
    x = blocks.residual_up_block(make, x, ch, f"block{i}",
                                 conv_before_upsample=False)
  x = blocks.to_rgb_head(make, x, whole=options.last_dense,
                           channels=channels)
  return keras.Model(z, x, name=name)


def build_discriminator(resolution: int = 64, ch: int = 64, seed: int = 0,
                        channels: int = 3,
                        name: str = "sngan_discriminator") -> keras.Model:
  """Builds the SNGAN ResNet discriminator (dense, spectrally normalised).

  Args:
    resolution: 32 (widths ch*[1, 1, 1, 1], down-sampling in the first two
      blocks, as SNGAN's CIFAR model with ch=128) or 64 (widths
      ch*[1, 2, 4, 8, 16], every block down-samples).
    ch: base width.
    seed: seed of the initial weights.
    channels: input channels, the generator's (1 gray, 3 colour).
    name: model name.

  Returns:
    A Keras model mapping images (B, res, res, channels) to logits (B, 1).
  """
  resolution = blocks.check_resolution("sngan discriminator", resolution,
                                       RESOLUTIONS)
  if resolution == 32:
    widths, downs = [ch] * 4, [True, True, False, False]
  else:
    widths, downs = [ch * m for m in (1, 2, 4, 8, 16)], [True] * 5
  make = LayerFactory(
      TicketOptions(mode="dense", weight_init="kaiming_normal",
                           seed=seed),
      spectral_norm=True)
  pool = lambda: keras.layers.AveragePooling2D(2)

  image = keras.Input((resolution, resolution, blocks.check_channels(channels)),
                      name="image")
  # Optimised first block: conv, ReLU, conv, pool; shortcut pool, then 1x1 conv.
  h = make.conv(widths[0], 3, name="block0_conv1")(image)
  h = keras.layers.ReLU()(h)
  h = make.conv(widths[0], 3, name="block0_conv2")(h)
  h = pool()(h)
  skip = make.conv(widths[0], 1, name="block0_skip")(pool()(image))
  x = keras.layers.Add()([h, skip])
  for i in range(1, len(widths)):
    c_in, c_out, down = widths[i - 1], widths[i], downs[i]
    h = keras.layers.ReLU()(x)
    h = make.conv(c_out, 3, name=f"block{i}_conv1")(h)
    h = keras.layers.ReLU()(h)
    h = make.conv(c_out, 3, name=f"block{i}_conv2")(h)
    skip = x
    if down or c_in != c_out:
      skip = make.conv(c_out, 1, name=f"block{i}_skip")(skip)
    if down:
      h, skip = pool()(h), pool()(skip)
    x = keras.layers.Add()([h, skip])
  x = keras.layers.ReLU()(x)
  x = GlobalSumPooling2D(name="global_sum_pool")(x)
  logits = make.dense(1, name="logit")(x)
  return keras.Model(image, logits, name=name)


@keras.saving.register_keras_serializable(package="slt_tf")
class GlobalSumPooling2D(keras.layers.Layer):
  """Sum over the spatial axes (SNGAN's discriminator head)."""

  def call(self, inputs):
    return keras.ops.sum(inputs, axis=(1, 2))

  def compute_output_shape(self, input_shape):
    return (input_shape[0], input_shape[-1])
