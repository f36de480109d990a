"""Building blocks shared by the generators: the layer factory and batch norm.

Every conv, transposed conv and dense kernel of a generator is created through a
``LayerFactory``, which applies the ticket options uniformly and gives layer ``i``
the seed ``seed * 4096 + i``: the whole random network is a function of
``(architecture config, seed)``, which is what makes a ticket storable as seed +
bitmask.
"""

import dataclasses
from typing import Optional

import keras

from slt_tf import config_fields
from slt_tf.ticket import initializers
from slt_tf.ticket import layers as masked
from slt_tf.ticket import masking

_MAX_LAYERS = 4096


@dataclasses.dataclass(frozen=True)
class TicketOptions:
  """How the masked layers of a generator are made.

  Attributes:
    keep_ratio: fraction of weights kept, in (0, 1].
    mode: "ticket" (train scores) or "dense" (train weights, the baseline).
    mask_scope: "layer" (per-tensor top-k) or "global" (one threshold).
    weight_init: see ``slt_tf.ticket.initializers.WEIGHT_INITS``.
    score_init: see ``slt_tf.ticket.initializers.SCORE_INITS``.
    mask_bias: biases get their own scores and mask.
    first_dense: keep the first layer whole (unpruned, never trained); the
      authors' ``First_freeze``.
    last_dense: same for the last (to-RGB) layer; ``Last_freeze``.
    seed: seed of the random weights and the initial scores.
  """
  keep_ratio: float = config_fields.field(
      0.1, "Fraction of weights KEPT, in (0, 1] (the paper's "
      "'0.k').")
  mode: str = config_fields.field(
      "ticket", "The masked layers' mode: ticket (scores) or dense "
      "(weights). A search derives it from its method.", flag=False)
  mask_scope: str = config_fields.field(
      "layer", f"Top-k per layer or one global threshold: "
      f"{masked.MASK_SCOPES}.")
  weight_init: str = config_fields.field(
      "signed_kaiming_constant", f"Random weights: {initializers.WEIGHT_INITS}.")
  score_init: str = config_fields.field(
      "uniform_0.1", f"Scores: {initializers.SCORE_INITS}.")
  mask_bias: bool = config_fields.field(
      True, "Give biases their own scores and mask.")
  first_dense: bool = config_fields.field(
      False, "Keep the first layer unpruned.")
  last_dense: bool = config_fields.field(
      False, "Keep the last layer unpruned.")
  seed: int = config_fields.field(
      0, "Seed of the random network and the "
      "run.")

  def __post_init__(self):
    masking.validate_keep_ratio(self.keep_ratio)
    initializers.check_name(self.mode, ("ticket", "dense"), "mode")
    initializers.check_name(self.mask_scope, masked.MASK_SCOPES, "mask_scope")
    initializers.check_name(self.weight_init, initializers.WEIGHT_INITS,
                            "weight_init")
    initializers.check_name(self.score_init, initializers.SCORE_INITS,
                            "score_init")
    if not isinstance(self.seed, int) or self.seed < 0:
      raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


class LayerFactory:
  """Creates the masked layers of one network with consistent options and seeds."""

  def __init__(self, options: TicketOptions, spectral_norm: bool = False):
    self.options = options
    self.spectral_norm = spectral_norm
    self._count = 0

  def kwargs(self, name: Optional[str] = None, whole: bool = False,
             **overrides) -> dict:
    """Constructor arguments of the next masked layer (consumes one seed).

    Args:
      name: layer name.
      whole: keep the layer unpruned and untrained in ticket mode.
      **overrides: any other masked-layer argument.
    """
    if self._count >= _MAX_LAYERS:
      raise ValueError(f"a network may hold at most {_MAX_LAYERS} masked layers")
    o = self.options
    mode = o.mode
    if whole and mode == "ticket":
      mode = "frozen"
    kwargs = dict(
        keep_ratio=o.keep_ratio, mode=mode, mask_scope=o.mask_scope,
        weight_init=o.weight_init, score_init=o.score_init,
        mask_bias=o.mask_bias, seed=o.seed * _MAX_LAYERS + self._count,
        spectral_norm=self.spectral_norm, name=name)
    kwargs.update(overrides)
    self._count += 1
    return kwargs

  def dense(self, units, name=None, whole=False, **kw):
    return masked.MaskedDense(units, **self.kwargs(name, whole, **kw))

  def conv(self, filters, kernel_size, name=None, whole=False, **kw):
    kw.setdefault("padding", "same")
    return masked.MaskedConv2D(filters, kernel_size,
                               **self.kwargs(name, whole, **kw))

  def conv_transpose(self, filters, kernel_size, name=None, whole=False, **kw):
    return masked.MaskedConv2DTranspose(filters, kernel_size,
                                        **self.kwargs(name, whole, **kw))


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


def prunable_parameter_count(model) -> dict:
  """Counts of the kernel and bias entries of a model's masked layers.

  These are the parameters a ticket selects from (the paper's parameter counts);
  batch-norm statistics, score tensors and power-iteration vectors are excluded.
  """
  kernels = biases = 0
  for layer in masked.masked_layers(model):
    kernels += int(layer.kernel.shape.num_elements())
    if layer.bias is not None:
      biases += int(layer.bias.shape.num_elements())
  return {"kernels": kernels, "biases": biases, "total": kernels + biases}


@keras.saving.register_keras_serializable(package="slt_tf")
class GlobalSumPooling2D(keras.layers.Layer):
  """Sum over the spatial axes (SNGAN's discriminator head)."""

  def call(self, inputs):
    return keras.ops.sum(inputs, axis=(1, 2))

  def compute_output_shape(self, input_shape):
    return (input_shape[0], input_shape[-1])
