"""The feature extractors behind ``slt_tf.features.build``: their names, the
``FeatureExtractor`` value, weights checks and the choice of feature layers.
"""

import dataclasses
import os
from typing import Optional

import keras
import numpy as np

from slt_tf.data import cache
from slt_tf import errors
from slt_tf.features import classifier
from slt_tf.features import vgg
from slt_tf.config_fields import check_name
from slt_tf.features.names import BN_MODES
from slt_tf.features.names import EXTRACTORS
from slt_tf.features.names import num_layers
from slt_tf.features.names import RANDOM


class WeightsError(errors.UserError):
  """A weights file that cannot be used; the message names the flag and file."""


@dataclasses.dataclass
class FeatureExtractor:
  """A frozen feature model and what identifies it.

  Attributes:
    model: Keras model, images (B, H, W, 3) in [-1, 1] -> features (B, D).
    name: extractor name, one of ``EXTRACTORS``.
    weights: the weights' source (a path, "imagenet" or "random").
    weights_id: digest of the weights file ("imagenet"/"random" otherwise).
    bn_mode: "batch" or "inference" (VGG19-BN only; "none" otherwise).
  """
  model: keras.Model
  name: str
  weights: str
  weights_id: str
  bn_mode: str
  layers: tuple = ()  # 1-based feature layers matched; () for all.

  @property
  def feature_dim(self) -> int:
    return int(self.model.output.shape[-1])

  def describe(self) -> str:
    chosen = (f", layers {','.join(map(str, self.layers))}" if self.layers
              else "")
    return (f"{self.name} (weights {self.weights}, id {self.weights_id}, "
            f"batch norm {self.bn_mode}{chosen}, {self.feature_dim:,} "
            "features)")

  def cache_identity(self) -> dict:
    identity = {"extractor": self.name, "weights_id": self.weights_id,
                "bn_mode": self.bn_mode, "feature_dim": self.feature_dim}
    if self.layers:
      identity["layers"] = list(self.layers)
    return identity


def check_weights(name: str, weights: Optional[str]) -> None:
  """Fails fast, before any work, on a weights argument that cannot work."""
  try:
    check_name(name, EXTRACTORS, "features")
  except ValueError as e:
    raise WeightsError(str(e)) from None
  if name == "classifier" and weights is None:
    return  # Trained on the dataset by the search, then loaded from the cache.
  if weights == RANDOM or (name == "vgg19" and weights == "imagenet"):
    return
  if not weights:
    raise WeightsError(
        f"feature_weights is required for features={name!r}: a file path"
        + (" or 'imagenet'" if name == "vgg19" else
           " (an .npz made by `python -m slt_tf.features.convert` from "
           "torchvision's vgg19_bn state dict)") + ", or 'random' for tests")
  if not os.path.isfile(weights):
    raise WeightsError(f"feature_weights: no such file {weights!r}")
  if not os.access(weights, os.R_OK):
    raise WeightsError(f"feature_weights: cannot read {weights!r}")


def select_layers(model: keras.Model, layers) -> keras.Model:
  """The extractor restricted to some of its feature layers.

  Args:
    model: an extractor whose output is the ``Concatenate`` named "features"
      of its flattened feature layers (every extractor here).
    layers: 1-based positions among those layers (VGG19: its 16 ReLUs in
      order), e.g. (1, 2, 3, 4) for the first four.

  Returns:
    A model computing only what the chosen layers need (layers after the
    last chosen one are not run, which saves their time and memory).

  Raises:
    ValueError: starting with "feature_layers", for a position out of range.
  """
  taps = model.get_layer("features").input
  for position in layers:
    if not 1 <= position <= len(taps):
      raise ValueError(f"feature_layers must be in 1..{len(taps)} for "
                       f"{model.name}, got {position}")
  chosen = [taps[p - 1] for p in sorted(set(layers))]
  output = (keras.layers.Concatenate(name="features")(chosen)
            if len(chosen) > 1 else chosen[0])
  subset = keras.Model(model.input, output, name=f"{model.name}_subset")
  subset.trainable = False
  return subset


def build(name: str, resolution: int, weights: Optional[str],
          bn_mode: str = "batch", seed: int = 0, layers=()
          ) -> FeatureExtractor:
  """Builds a frozen extractor (see the module doc).

  Args:
    name: one of ``EXTRACTORS``.
    resolution: image size.
    weights: weights file, "imagenet" (vgg19 only) or "random".
    bn_mode: VGG19-BN batch norm: "batch" (the authors') or "inference".
    seed: seed of random weights.
    layers: match only these feature layers (``select_layers``); () for all.

  Raises:
    WeightsError: the weights cannot be loaded.
  """
  check_weights(name, weights)
  keras.utils.set_random_seed(seed)
  if name == "vgg19_bn":
    model = vgg.vgg19_bn(resolution, bn_mode)
    if weights != RANDOM:
      try:
        with np.load(weights, allow_pickle=False) as arrays:
          vgg.load_torchvision_arrays(model, arrays, weights)
      except WeightsError:
        raise
      except Exception as e:  # pylint: disable=broad-except
        raise WeightsError(f"feature_weights: {weights}: {e}") from None
  elif name == "vgg19":
    bn_mode = "none"
    try:
      model = vgg.keras_vgg19(resolution,
                              None if weights == RANDOM else weights)
    except Exception as e:  # pylint: disable=broad-except
      hint = (" (no internet? pass a path to Keras's "
              "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5)"
              if weights == "imagenet" else "")
      raise WeightsError(f"feature_weights: {weights}: {e}{hint}") from None
  elif weights == RANDOM:
    bn_mode = "none"
    # The class count only shapes the unused logits layer.
    model = classifier.networks(resolution, 10)[1]
    model.trainable = False
  else:
    bn_mode = "none"
    try:
      model = classifier.load_features(weights, resolution)
    except ValueError as e:
      raise WeightsError(f"feature_weights: {e}") from None
  weights_id = (weights if weights in (RANDOM, "imagenet")
                else cache.file_digest(weights))
  layers = tuple(sorted(set(layers)))
  if layers:
    model = select_layers(model, layers)
  return FeatureExtractor(model, name, weights, weights_id, bn_mode, layers)
