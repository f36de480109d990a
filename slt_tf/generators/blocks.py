"""Building blocks of the generators: batch norm, upsampling, the residual
up-block, the output head, and the checks of channels and resolution.

The masked layers themselves come from the ``LayerFactory`` each builder is
handed (``slt_tf.ticket.factory``).
"""

from typing import Optional

import keras

from slt_tf.generators.catalog import check_channels
from slt_tf.ticket.factory import LayerFactory


def batch_norm(name=None, make: Optional[LayerFactory] = None
               ) -> keras.layers.BatchNormalization:
  """A generator's batch norm: identity affine (gamma=1, beta=0, never
  trained), or, when ``make``'s options ask for ``bn_affine``, the authors'
  affine parameters (``AffineBatchNorm``).

  Moving statistics update in training calls and are used in inference calls.
  Momentum and epsilon are PyTorch's defaults (0.1 -> Keras 0.9, 1e-5), as in the
  authors' code. Statistics are synchronised across replicas, so that a batch
  split over devices normalises as the whole batch would.
  """
  if make is not None and make.options.bn_affine:
    return AffineBatchNorm(train_affine=make.options.mode == "dense",
                           seed=make.norm_seed(), name=name)
  return keras.layers.BatchNormalization(
      center=False, scale=False, momentum=0.9, epsilon=1e-5, synchronized=True,
      name=name)


@keras.saving.register_keras_serializable(package="slt_tf")
class AffineBatchNorm(keras.layers.BatchNormalization):
  """Batch norm with the authors' affine parameters: gamma drawn from
  N(1, 0.02) (seeded), beta 0, as their ``weights_init`` sets them.

  Args:
    train_affine: train gamma and beta (the weight-training baselines);
      else they stay at their draw, as a ticket's weights do. Either way the
      layer normalises with batch statistics in training calls (freezing
      the whole layer would switch Keras's batch norm to inference mode).
    seed: seed of gamma's draw.
  """

  def __init__(self, train_affine: bool = False, seed: int = 0, **kwargs):
    for key, value in dict(momentum=0.9, epsilon=1e-5,
                           synchronized=True).items():
      kwargs.setdefault(key, value)
    kwargs.pop("center", None)
    kwargs.pop("scale", None)
    kwargs.pop("gamma_initializer", None)
    super().__init__(center=True, scale=True,
                     gamma_initializer=keras.initializers.RandomNormal(
                         1.0, 0.02, seed=int(seed)), **kwargs)
    self.train_affine, self.seed = bool(train_affine), int(seed)

  def build(self, input_shape):
    super().build(input_shape)
    if not self.train_affine:
      self.gamma.trainable = False
      self.beta.trainable = False

  def get_config(self):
    return {**super().get_config(), "train_affine": self.train_affine,
            "seed": self.seed}


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
  h = batch_norm(f"{name}_bn1", make)(x)
  h = keras.layers.ReLU()(h)
  h = upsample()(h)
  h = make.conv(channels, 3, name=f"{name}_conv1")(h)
  h = batch_norm(f"{name}_bn2", make)(h)
  h = keras.layers.ReLU()(h)
  h = make.conv(channels, 3, name=f"{name}_conv2")(h)
  if conv_before_upsample:
    skip = upsample()(make.conv(channels, 1, name=f"{name}_skip")(x))
  else:
    skip = make.conv(channels, 1, name=f"{name}_skip")(upsample()(x))
  return keras.layers.Add()([h, skip])


def to_rgb_head(make: LayerFactory, x, whole: bool, channels: int = 3):
  """BN, ReLU, conv3x3 to ``channels`` (1 gray, 3 colour), tanh: every
  generator's output head. (The layer keeps the name ``to_rgb`` for both, so
  checkpoints of either kind name it alike.)"""
  x = batch_norm("out_bn", make)(x)
  x = keras.layers.ReLU()(x)
  return make.conv(check_channels(channels), 3, name="to_rgb", whole=whole,
                   activation="tanh")(x)


def check_resolution(arch: str, resolution, supported) -> int:
  if resolution not in supported:
    raise ValueError(f"resolution must be one of {tuple(supported)} for arch "
                     f"{arch!r}, got {resolution!r}")
  return int(resolution)
