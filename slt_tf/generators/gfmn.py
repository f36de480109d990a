"""GFMN ResNet generator (Santos et al. 2019; the paper's main model).

z -> 4x4 transposed conv -> nb = log2(res) - 2 residual up-blocks -> BN, ReLU,
conv3x3 to RGB, tanh. Block widths for ngf=64: [1024, 512, 256, 128, 64] at 64x64,
[512, 256, 128, 64] at 32x32. Each block: BN, ReLU, nearest x2, conv3x3, BN, ReLU,
conv3x3, plus a 1x1 conv skip followed by the same upsampling.
"""

import math

import keras

from slt_tf.generators import blocks
from slt_tf.generators import catalog
from slt_tf.ticket.factory import LayerFactory
from slt_tf.ticket.options import TicketOptions

RESOLUTIONS = catalog.ARCHITECTURES["gfmn"].resolutions


def build(resolution: int = 64, ngf: int = 64, nz: int = 100,
          options: TicketOptions = TicketOptions(),
          channels: int = 3, name: str = "gfmn_generator") -> keras.Model:
  """Builds the GFMN ResNet generator from masked layers.

  Args:
    resolution: 32 or 64.
    ngf: base width; the first stage has ngf * 2^(nb) channels.
    nz: latent size.
    options: ticket options shared by every layer.
    channels: output channels, 1 (gray) or 3 (colour).
    name: model name.

  Returns:
    A Keras model mapping z (B, nz) to images (B, res, res, channels) in [-1, 1].
  """
  resolution = blocks.check_resolution("gfmn", resolution, RESOLUTIONS)
  nb = int(math.log2(resolution)) - 2
  widths = [ngf * 2**(nb - i) for i in range(nb + 1)]
  make = LayerFactory(options)

  z = keras.Input((nz,), name="z")
  x = keras.layers.Reshape((1, 1, nz))(z)
  x = make.conv_transpose(widths[0], 4, padding="valid", name="stem",
                          whole=options.first_dense)(x)
  for i in range(nb):
    x = blocks.residual_up_block(make, x, widths[i + 1], f"block{i}",
                                 conv_before_upsample=True)
  x = blocks.to_rgb_head(make, x, whole=options.last_dense,
                           channels=channels)
  return keras.Model(z, x, name=name)
