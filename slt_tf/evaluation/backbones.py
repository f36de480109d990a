"""Evaluation backbones: the networks whose activations FID, KID and PRDC compare.

* ``inception``: InceptionV3's 2048-d average-pool features at 299x299 (weights
  from a file path, or "imagenet" where Keras can download them).
* ``domain``: the domain evaluator of a labelled dataset, for data where no
  Inception weights can be had or Inception knows nothing of the domain: a
  classifier of another architecture than the search's feature net (so that
  the search is not graded by the network it matched), trained once with a
  fixed seed on the dataset's train split and cached under the dataset's
  identity (for a folder, the digest of its files); 256-d features of its
  hidden layer, and logits for the Inception score. Its name carries the
  dataset (``domain-<digest>``), so that metrics of different datasets are
  never compared.
* ``digits``: the domain evaluator of the embedded digits (the same network,
  under the name the digits' figures have always had).

Numbers from different backbones are never comparable; every metric name
carries its backbone (``slt_tf.evaluation.evaluator.metric_name``).
"""

import dataclasses
import hashlib
from typing import Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from slt_tf.data import cache
from slt_tf.data import datasets
from slt_tf.data import folders
from slt_tf import errors
from slt_tf.features import classifier

BACKBONES = ("inception", "domain", "digits")
INCEPTION_SIZE = 299
EVALUATOR_SEED = 0


class BackboneError(errors.UserError):
  """A backbone that cannot be built; the message names the flag or file."""


@dataclasses.dataclass
class Backbone:
  """A frozen evaluation network.

  Attributes:
    name: one of ``BACKBONES`` (``domain-<digest>`` for ``domain``).
    features: model, images in [-1, 1] -> activations (B, D).
    logits: model, images -> class logits (B, C), or None.
    weights_id: digest of the weights (or "imagenet"/"random").
  """
  name: str
  features: keras.Model
  logits: Optional[keras.Model]
  weights_id: str
  function: Optional[object] = None

  def describe(self) -> str:
    return (f"{self.name} (weights {self.weights_id}, "
            f"{int(self.features.output.shape[-1])}-d activations)")


def default_backbone(dataset: str, weights: Optional[str] = None,
                     data_dir: Optional[str] = None,
                     holdout: float = folders.HOLDOUT) -> str:
  """``--backbone=auto``: ``digits`` for the embedded default; ``inception``
  when its weights are given; else ``domain`` for a labelled dataset, and
  ``inception`` (which then asks for its weights) for an unlabelled one."""
  if dataset == datasets.EMBEDDED:
    return "digits"
  if weights:
    return "inception"
  return "domain" if datasets.labelled(dataset, data_dir, holdout) else (
      "inception")


def build(name: str, resolution: int, weights: Optional[str] = None,
          dataset: str = datasets.EMBEDDED, cache_dir: Optional[str] = None,
          data_dir: Optional[str] = None,
          holdout: float = folders.HOLDOUT) -> Backbone:
  """Builds a backbone (see the module doc).

  Raises:
    BackboneError: unknown name, missing weights, or a dataset without labels.
  """
  if name not in BACKBONES:
    raise BackboneError(f"backbone must be one of {BACKBONES}, got {name!r}")
  if name in ("digits", "domain"):
    if name == "digits" and dataset != datasets.EMBEDDED:
      name = "domain"  # The same network; named for the dataset it knows.
    try:
      path, info = classifier.ensure_trained(
          dataset, resolution, EVALUATOR_SEED, cache_dir or cache.default_dir(),
          data_dir, classifier.EVALUATOR, holdout)
    except datasets.DataError as e:
      raise BackboneError(f"backbone: {name!r} needs a labelled dataset ({e})"
                          ) from None
    if name == "domain":
      digest = hashlib.sha256(datasets.identity(
          dataset, data_dir, holdout).encode()).hexdigest()[:8]
      name = f"domain-{digest}"
      logging.info("backbone %s: the domain evaluator of %s (held-out "
                   "accuracy %.4f)", name, dataset, info["test_accuracy"])
    logits, features = classifier.load_networks(path, resolution,
                                                classifier.EVALUATOR)
    return Backbone(name, features, logits, cache.file_digest(path))
  if not weights:
    raise BackboneError(
        "backbone_weights is required for 'inception': a path to Keras's "
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5, or "
        "'imagenet' (downloads; needs internet)")
  try:
    base = keras.applications.InceptionV3(
        include_top=False, pooling="avg",
        weights=None if weights == "random" else weights,
        input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
  except Exception as e:  # pylint: disable=broad-except
    raise BackboneError(f"backbone_weights: {weights}: {e}") from None
  images = keras.Input((resolution, resolution, 3), name="images")
  # Inception's own preprocessing maps pixels to [-1, 1]: ours already are.
  resized = keras.layers.Resizing(INCEPTION_SIZE, INCEPTION_SIZE,
                                  interpolation="bilinear")(images)
  model = keras.Model(images, base(resized), name="inception_pool")
  model.trainable = False
  weights_id = (weights if weights in ("imagenet", "random")
                else cache.file_digest(weights))
  return Backbone(name, model, None, weights_id)


def activations(backbone: Backbone, batches):
  """(activations, logits or None) as float32 NumPy arrays over ``batches``."""
  if backbone.function is None:
    # Built once per backbone: a new function per call would retrace and keep
    # every traced graph alive (memory growth over a long search).
    if backbone.logits is not None:
      both = keras.Model(backbone.features.input,
                         [backbone.features.output, backbone.logits.output])
      backbone.function = tf.function(lambda x: tuple(both(x)))
    else:
      backbone.function = tf.function(lambda x: (backbone.features(x),))
  acts, logits = [], []
  for batch in batches:
    out = backbone.function(batch)
    acts.append(out[0].numpy())
    if len(out) > 1:
      logits.append(out[1].numpy())
  return (np.concatenate(acts).astype(np.float32),
          np.concatenate(logits).astype(np.float32) if logits else None)
