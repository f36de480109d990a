"""VGG19 feature extractors: torchvision's VGG19-BN (the paper's) and Keras's VGG19.

Both return the outputs of their 16 ReLU layers, flattened and concatenated:
303,104 features per 32x32 image, 1,212,416 per 64x64 image.
"""

from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from slt_tf import replica
from slt_tf.config_fields import check_name
from slt_tf.features.names import BN_MODES
from slt_tf.features.names import VGG19_CFG

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def feature_dim(resolution: int) -> int:
  """Length of the VGG19 feature vector of one image (before the last pool)."""
  dim, size = 0, resolution
  for c in VGG19_CFG:
    if c == "M":
      size //= 2
    else:
      dim += c * size * size
  return dim


@keras.saving.register_keras_serializable(package="slt_tf")
class FeatureBatchNorm(keras.layers.Layer):
  """PyTorch-style batch norm of a frozen feature extractor; nothing updates.

  ``mode="batch"`` normalises with the (global, cross-replica) statistics of the
  current batch, as the authors and GFMN run VGG; ``"inference"`` uses the
  stored running statistics. Parameters are never trained.
  """

  def __init__(self, mode: str = "batch", epsilon: float = 1e-5, **kwargs):
    super().__init__(trainable=False, **kwargs)
    self.mode = check_name(mode, BN_MODES, "feature_bn")
    self.epsilon = float(epsilon)

  def build(self, input_shape):
    c = int(input_shape[-1])
    add = lambda name, init: self.add_weight(
        name=name, shape=(c,), initializer=init, trainable=False)
    self.gamma, self.beta = add("gamma", "ones"), add("beta", "zeros")
    self.moving_mean = add("moving_mean", "zeros")
    self.moving_variance = add("moving_variance", "ones")

  def call(self, x):
    if self.mode == "batch":
      mean, var = replica.moments(x, axes=(0, 1, 2))
    else:
      mean, var = self.moving_mean, self.moving_variance
    inv = self.gamma * tf.math.rsqrt(var + self.epsilon)
    return x * inv + (self.beta - mean * inv)

  def get_config(self):
    return {**super().get_config(), "mode": self.mode, "epsilon": self.epsilon}


def vgg19_bn(resolution: int, bn_mode: str = "batch") -> keras.Model:
  """VGG19-BN in torchvision's layout: images in [-1, 1] -> features (B, D).

  Generator output is mapped to [0, 1] and ImageNet-normalised, like the real
  images in the authors' pipeline. Layer names follow torchvision's
  ``features.<i>`` indices (``conv_0``, ``bn_1``, ...).
  """
  images = keras.Input((resolution, resolution, 3), name="images")
  mean = np.array(IMAGENET_MEAN, np.float32)
  std = np.array(IMAGENET_STD, np.float32)
  x = keras.layers.Lambda(lambda t: ((t + 1.0) * 0.5 - mean) / std,
                          name="imagenet_normalize")(images)
  outputs, index = [], 0
  for c in VGG19_CFG:
    if c == "M":
      x = keras.layers.MaxPooling2D(2, name=f"pool_{index}")(x)
      index += 1
      continue
    x = keras.layers.Conv2D(c, 3, padding="same", name=f"conv_{index}",
                            trainable=False)(x)
    x = FeatureBatchNorm(bn_mode, name=f"bn_{index + 1}")(x)
    x = keras.layers.ReLU(name=f"relu_{index + 2}")(x)
    outputs.append(keras.layers.Flatten()(x))
    index += 3
  features = keras.layers.Concatenate(name="features")(outputs)
  model = keras.Model(images, features, name="vgg19_bn")
  model.trainable = False
  return model


def torchvision_keys():
  """The state-dict keys of torchvision's ``vgg19_bn().features`` we use."""
  keys, index = [], 0
  for c in VGG19_CFG:
    if c == "M":
      index += 1
      continue
    keys += [f"features.{index}.weight", f"features.{index}.bias"]
    keys += [f"features.{index + 1}.{n}" for n in
             ("weight", "bias", "running_mean", "running_var")]
    index += 3
  return keys


def load_torchvision_arrays(model: keras.Model, arrays, source: str) -> None:
  """Assigns torchvision ``vgg19_bn`` state-dict arrays to ``vgg19_bn(...)``.

  Conv kernels go from PyTorch's (out, in, kh, kw) to Keras's (kh, kw, in, out);
  ``classifier.*`` and ``num_batches_tracked`` entries are ignored.

  Args:
    model: a model from ``vgg19_bn``.
    arrays: mapping from state-dict key to array.
    source: file name for error messages.

  Raises:
    ValueError: a key is missing or a shape does not match.
  """
  def get(key, shape):
    if key not in arrays:
      raise ValueError(f"{source}: missing {key!r}; expected torchvision "
                       "vgg19_bn state-dict keys (see slt_tf.features.convert)")
    value = np.asarray(arrays[key], np.float32)
    if value.shape != tuple(shape):
      raise ValueError(f"{source}: {key!r} has shape {value.shape}, expected "
                       f"{tuple(shape)}")
    return value

  index = 0
  for c in VGG19_CFG:
    if c == "M":
      index += 1
      continue
    conv = model.get_layer(f"conv_{index}")
    kh, kw, cin, cout = conv.kernel.shape
    kernel = get(f"features.{index}.weight", (cout, cin, kh, kw))
    conv.kernel.assign(np.transpose(kernel, (2, 3, 1, 0)))
    conv.bias.assign(get(f"features.{index}.bias", (cout,)))
    bn = model.get_layer(f"bn_{index + 1}")
    for attr, name in (("gamma", "weight"), ("beta", "bias"),
                       ("moving_mean", "running_mean"),
                       ("moving_variance", "running_var")):
      getattr(bn, attr).assign(get(f"features.{index + 1}.{name}", (cout,)))
    index += 3


def keras_vgg19(resolution: int, weights: Optional[str]) -> keras.Model:
  """Keras's VGG19 (no batch norm): images in [-1, 1] -> its 16 conv outputs.

  Args:
    resolution: image size (at least 32).
    weights: "imagenet" (Keras downloads them; needs internet), a path to
      Keras's ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``, or None
      for random weights.
  """
  base = keras.applications.VGG19(include_top=False, weights=weights,
                                  input_shape=(resolution, resolution, 3))
  base.trainable = False
  images = keras.Input((resolution, resolution, 3), name="images")
  # Keras's "caffe" preprocessing: BGR, 0..255, minus the ImageNet means.
  bgr_mean = np.array(_CAFFE_BGR_MEAN, np.float32)
  x = keras.layers.Lambda(
      lambda t: (t[..., ::-1] + 1.0) * 127.5 - bgr_mean,
      name="caffe_preprocess")(images)
  convs = [l for l in base.layers if isinstance(l, keras.layers.Conv2D)]
  taps = keras.Model(base.input, [l.output for l in convs])
  outputs = [keras.layers.Flatten()(t) for t in taps(x)]
  model = keras.Model(images, keras.layers.Concatenate(name="features")(outputs),
                      name="vgg19")
  model.trainable = False
  return model
