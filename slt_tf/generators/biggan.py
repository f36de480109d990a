"""BigGAN generator (Brock et al. 2019) built from masked layers.

The BigGAN-PyTorch layout: a hierarchical latent (z split into one chunk for the
stem and one per block), a dense stem to 4x4, residual up-blocks whose batch norms
are conditional (gain ``1 + W_g c`` and bias ``W_b c`` from linear maps of the
block's conditioning vector ``c``: its z chunk, concatenated with a shared class
embedding when conditional), optional self-attention, then BN, ReLU, conv3x3 to
RGB, tanh. Spectral normalisation is applied to every kernel; in a ticket it
normalises the masked kernel ``W * M``.

Channel tables (in -> out, times ``ch``): 64x64 [16,16,8,4] -> [16,8,4,2];
32x32 [4,4,4] -> [4,4,4]. Default widths (ch=48 at 64x64, 64 at 32x32) are those
that give the paper's 17.31M parameters for CelebA 64 (see BUILD.md).

The shared class embedding is a bias-free masked dense layer over one-hot labels
(equivalent to an embedding table, and prunable like every other kernel). The
attention's residual gain ``gamma`` is trained (from 0) in dense mode; in a
ticket, where nothing is trained, it is fixed at 1 so that the attention path
contributes.
"""

from typing import Sequence

import keras

from slt_tf.generators import blocks
from slt_tf.generators import catalog
from slt_tf.ticket.factory import LayerFactory
from slt_tf.ticket.options import TicketOptions
from slt_tf.ticket import layers as masked

RESOLUTIONS = catalog.ARCHITECTURES["biggan"].resolutions
CHANNELS = {
    32: ([4, 4, 4], [4, 4, 4]),
    64: ([16, 16, 8, 4], [16, 8, 4, 2]),
}
DEFAULT_CH = {32: 64, 64: 48}


@keras.saving.register_keras_serializable(package="slt_tf")
class LatentChunk(keras.layers.Layer):
  """Slice ``[index * size, (index + 1) * size)`` of the latent vector."""

  def __init__(self, index: int, size: int, **kwargs):
    super().__init__(**kwargs)
    self.index, self.size = int(index), int(size)

  def call(self, z):
    return z[:, self.index * self.size:(self.index + 1) * self.size]

  def compute_output_shape(self, input_shape):
    return (input_shape[0], self.size)

  def get_config(self):
    return {**super().get_config(), "index": self.index, "size": self.size}


@keras.saving.register_keras_serializable(package="slt_tf")
class OneHot(keras.layers.Layer):
  """Integer labels (B,) to one-hot float vectors (B, num_classes)."""

  def __init__(self, num_classes: int, **kwargs):
    super().__init__(**kwargs)
    self.num_classes = int(num_classes)

  def call(self, labels):
    return keras.ops.one_hot(keras.ops.cast(labels, "int32"), self.num_classes)

  def compute_output_shape(self, input_shape):
    return (input_shape[0], self.num_classes)

  def get_config(self):
    return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="slt_tf")
class ConditionalBatchNorm(keras.layers.Layer):
  """BN without affine, then ``x * (1 + W_g c) + W_b c`` (BigGAN's ccbn).

  Args:
    channels: feature channels.
    gain_kwargs, bias_kwargs: arguments of the two bias-free ``MaskedDense``
      projections (from ``LayerFactory.kwargs``).
  """

  def __init__(self, channels: int, gain_kwargs: dict, bias_kwargs: dict,
               **kwargs):
    super().__init__(**kwargs)
    self.channels = int(channels)
    self.gain_kwargs, self.bias_kwargs = dict(gain_kwargs), dict(bias_kwargs)
    self.bn = blocks.batch_norm("bn")
    self.gain = masked.MaskedDense(self.channels, **self.gain_kwargs)
    self.bias = masked.MaskedDense(self.channels, **self.bias_kwargs)

  def build(self, input_shapes):
    x_shape, c_shape = input_shapes
    self.bn.build(x_shape)
    self.gain.build(c_shape)
    self.bias.build(c_shape)
    self.built = True

  def call(self, inputs, training=None):
    x, c = inputs
    x = self.bn(x, training=training)
    gain = 1.0 + self.gain(c, training=training)
    bias = self.bias(c, training=training)
    return x * gain[:, None, None, :] + bias[:, None, None, :]

  def compute_output_shape(self, input_shapes):
    return tuple(input_shapes[0])

  def get_config(self):
    return {**super().get_config(), "channels": self.channels,
            "gain_kwargs": self.gain_kwargs, "bias_kwargs": self.bias_kwargs}


@keras.saving.register_keras_serializable(package="slt_tf")
class SelfAttention(keras.layers.Layer):
  """BigGAN/SAGAN self-attention with masked 1x1 convs.

  Args:
    channels: feature channels (divisible by 8).
    conv_kwargs: arguments of the four ``MaskedConv2D`` (theta, phi, g, o), a
      list of four dicts.
    gamma_trainable: train the residual gain (dense mode) or keep it fixed.
    gamma_init: initial (or fixed) residual gain.
  """

  def __init__(self, channels: int, conv_kwargs: Sequence[dict],
               gamma_trainable: bool = False, gamma_init: float = 1.0,
               **kwargs):
    super().__init__(**kwargs)
    if channels % 8:
      raise ValueError(f"self-attention needs channels divisible by 8, got "
                       f"{channels}")
    self.channels = int(channels)
    self.conv_kwargs = [dict(k) for k in conv_kwargs]
    self.gamma_trainable, self.gamma_init = bool(gamma_trainable), float(
        gamma_init)
    widths = (channels // 8, channels // 8, channels // 2, channels)
    self.theta, self.phi, self.g, self.o = [
        masked.MaskedConv2D(w, 1, use_bias=False, **k)
        for w, k in zip(widths, self.conv_kwargs)]

  def build(self, input_shape):
    c = self.channels
    self.theta.build(input_shape)
    self.phi.build(input_shape)
    self.g.build(input_shape)
    self.o.build(tuple(input_shape[:-1]) + (c // 2,))
    self.gamma = self.add_weight(
        name="gamma", shape=(), trainable=self.gamma_trainable,
        initializer=keras.initializers.Constant(self.gamma_init))
    self.built = True

  def call(self, x, training=None):
    ops = keras.ops
    h, w, c = x.shape[1], x.shape[2], self.channels
    pool = lambda t: ops.max_pool(t, 2, 2)
    theta = ops.reshape(self.theta(x, training=training), (-1, h * w, c // 8))
    phi = ops.reshape(pool(self.phi(x, training=training)),
                      (-1, h * w // 4, c // 8))
    g = ops.reshape(pool(self.g(x, training=training)),
                    (-1, h * w // 4, c // 2))
    beta = ops.softmax(ops.matmul(theta, ops.transpose(phi, (0, 2, 1))),
                       axis=-1)
    o = ops.reshape(ops.matmul(beta, g), (-1, h, w, c // 2))
    return x + self.gamma * self.o(o, training=training)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape)

  def get_config(self):
    return {**super().get_config(), "channels": self.channels,
            "conv_kwargs": self.conv_kwargs,
            "gamma_trainable": self.gamma_trainable,
            "gamma_init": self.gamma_init}


def build(resolution: int = 64, ch=None, nz: int = 120, num_classes: int = 0,
          shared_dim: int = 128, attention_resolutions: Sequence[int] = (),
          options: TicketOptions = TicketOptions(),
          channels: int = 3, name: str = "biggan_generator") -> keras.Model:
  """Builds the BigGAN generator from masked, spectrally normalised layers.

  Args:
    resolution: 32 or 64.
    ch: base width; None picks the default of the resolution (``DEFAULT_CH``).
    nz: latent size; must split evenly into (blocks + 1) chunks.
    num_classes: 0 for unconditional; otherwise the model takes a second input
      ``label`` (int, shape (B,)) and conditions through a shared embedding.
    shared_dim: size of the shared class embedding.
    attention_resolutions: output resolutions of the blocks followed by
      self-attention (BigGAN uses 64 at 128x128; empty by default here).
    options: ticket options shared by every layer.
    channels: output channels, 1 (gray) or 3 (colour).
    name: model name.

  Returns:
    A Keras model mapping z (B, nz) [and label (B,)] to images (B, res, res, channels)
    in [-1, 1].
  """
  resolution = blocks.check_resolution("biggan", resolution, RESOLUTIONS)
  if options.bn_affine:
    raise ValueError("bn_affine: BigGAN's batch norms are conditional (their "
                     "gains and biases come from the latent); it is for gfmn "
                     "and sngan")
  ch = DEFAULT_CH[resolution] if ch is None else int(ch)
  mult_in, mult_out = CHANNELS[resolution]
  nb = len(mult_in)
  slots = nb + 1
  if nz % slots:
    raise ValueError(f"nz must be divisible by {slots} (one chunk for the stem "
                     f"and one per block) for biggan at {resolution}px, got {nz}")
  if num_classes < 0:
    raise ValueError(f"num_classes must be >= 0, got {num_classes}")
  for r in attention_resolutions:
    if r not in [2**(3 + i) for i in range(nb)]:
      raise ValueError(f"attention_resolutions entries must be block output "
                       f"resolutions {[2**(3 + i) for i in range(nb)]}, got {r}")
  chunk = nz // slots
  make = LayerFactory(options, spectral_norm=True)

  z = keras.Input((nz,), name="z")
  inputs = [z]
  chunks = [LatentChunk(i, chunk, name=f"z_chunk{i}")(z) for i in range(slots)]
  shared = None
  if num_classes:
    label = keras.Input((), dtype="int32", name="label")
    inputs.append(label)
    one_hot = OneHot(num_classes, name="one_hot")(label)
    # BigGAN's embedding carries no spectral norm.
    shared = make.dense(shared_dim, name="shared_embedding", use_bias=False,
                        spectral_norm=False)(one_hot)

  x = make.dense(4 * 4 * ch * mult_in[0], name="stem",
                 whole=options.first_dense)(chunks[0])
  x = keras.layers.Reshape((4, 4, ch * mult_in[0]))(x)

  def cbn(channels, cond, block, index):
    proj = lambda kind: make.kwargs(f"{kind}", use_bias=False)
    return ConditionalBatchNorm(channels, proj("gain"), proj("bias"),
                                name=f"block{block}_cbn{index}")

  for i in range(nb):
    c_in, c_out = ch * mult_in[i], ch * mult_out[i]
    cond = chunks[i + 1]
    if shared is not None:
      cond = keras.layers.Concatenate(name=f"block{i}_cond")([shared, cond])
    h = cbn(c_in, cond, i, 1)([x, cond])
    h = keras.layers.ReLU()(h)
    h = blocks.upsample()(h)
    h = make.conv(c_out, 3, name=f"block{i}_conv1")(h)
    h = cbn(c_out, cond, i, 2)([h, cond])
    h = keras.layers.ReLU()(h)
    h = make.conv(c_out, 3, name=f"block{i}_conv2")(h)
    skip = blocks.upsample()(x)
    skip = make.conv(c_out, 1, name=f"block{i}_skip")(skip)
    x = keras.layers.Add()([h, skip])
    if 2**(3 + i) in attention_resolutions:
      x = SelfAttention(
          c_out, [make.kwargs(n) for n in ("theta", "phi", "g", "o")],
          gamma_trainable=options.mode == "dense",
          gamma_init=0.0 if options.mode == "dense" else 1.0,
          name=f"attention{2**(3 + i)}")(x)
  x = blocks.to_rgb_head(make, x, whole=options.last_dense,
                           channels=channels)
  return keras.Model(inputs if len(inputs) > 1 else z, x, name=name)
