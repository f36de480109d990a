"""The frozen feature extractor whose moments a search matches:
``FeaturesConfig``, the configuration's ``features`` group. Importable
without TensorFlow."""

import dataclasses
from typing import Optional, Tuple

from slt_tf import config_fields
from slt_tf.config_fields import check_name
from slt_tf.features import names


@dataclasses.dataclass(frozen=True)
class FeaturesConfig:
  """The extractor (``--features``), its weights, batch norm and layers;
  validated at construction."""
  extractor: str = config_fields.field(
      "vgg19_bn", f"Feature extractor: {names.EXTRACTORS}.",
      role=config_fields.IDENTITY, name="features")
  weights: Optional[str] = config_fields.field(
      None, "Extractor weights: a file (vgg19_bn: .npz from "
      "`python -m slt_tf.features.convert`), 'imagenet' (vgg19), or 'random' "
      "(tests); classifier: none (trained on the dataset and cached).",
      name="feature_weights")
  bn: str = config_fields.field(
      "batch", f"VGG19-BN batch norm: {names.BN_MODES}.",
      role=config_fields.IDENTITY, name="feature_bn")
  layers: Tuple[int, ...] = config_fields.field(
      (), "Match only these feature layers (1-based; VGG19: "
      "its 16 ReLUs in order), e.g. 1,2,3,4,5,6,7,8 when memory is short; "
      "empty: all (the paper's).", role=config_fields.IDENTITY,
      name="feature_layers")

  def __post_init__(self):
    check_name(self.extractor, names.EXTRACTORS, "features")
    check_name(self.bn, names.BN_MODES, "feature_bn")
    # Frozen dataclass: the normalised field is set once, here.
    object.__setattr__(self, "layers", tuple(int(l) for l in self.layers))
    available = names.num_layers(self.extractor)
    if any(not 1 <= l <= available for l in self.layers):
      raise ValueError(f"feature_layers must be in 1..{available} for "
                       f"{self.extractor} (1-based), got {list(self.layers)}")
