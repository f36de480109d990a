"""Frozen feature extractors for moment matching: images in [-1, 1] -> (B, D).

``build(name, resolution, weights, bn_mode)`` returns a ``FeatureExtractor``:

* ``vgg19_bn``: the paper's extractor, torchvision layout, 16 ReLU outputs;
  weights from an ``.npz`` of torchvision's ``vgg19_bn`` state dict (make one
  with ``python -m slt_tf.features.convert``).
* ``vgg19``: Keras's VGG19 (no batch norm); weights ``imagenet`` (downloaded by
  Keras; needs internet) or a path to its ``..._notop.h5`` file.
* ``classifier``: a small net trained on the dataset's own labels
  (``slt_tf.features.classifier``); weights from its cached file.

``weights="random"`` gives random weights, for benchmarks and tests only.
"""

from slt_tf.features.extractors import BN_MODES
from slt_tf.features.extractors import build
from slt_tf.features.extractors import check_weights
from slt_tf.features.extractors import EXTRACTORS
from slt_tf.features.extractors import FeatureExtractor
from slt_tf.features.extractors import num_layers
from slt_tf.features.extractors import RANDOM
from slt_tf.features.extractors import select_layers
from slt_tf.features.extractors import WeightsError

__all__ = ["BN_MODES", "EXTRACTORS", "FeatureExtractor", "RANDOM",
           "WeightsError", "build", "check_weights", "num_layers",
           "select_layers"]
