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
``names`` holds what the configuration validates (no TensorFlow); the rest
loads on first use, so that importing the package stays light.
"""

from slt_tf.features.names import BN_MODES
from slt_tf.features.names import EXTRACTORS
from slt_tf.features.names import num_layers
from slt_tf.features.names import RANDOM

__all__ = ["BN_MODES", "EXTRACTORS", "FeatureExtractor", "RANDOM",
           "WeightsError", "build", "check_weights", "num_layers",
           "select_layers"]
_FROM_EXTRACTORS = ("FeatureExtractor", "WeightsError", "build",
                    "check_weights", "select_layers")


def __getattr__(name):
  if name in _FROM_EXTRACTORS:
    from slt_tf.features import extractors  # pylint: disable=g-import-not-at-top
    return getattr(extractors, name)
  raise AttributeError(f"module 'slt_tf.features' has no attribute {name!r}")
