"""A small classifier trained on the dataset's own labels, as a feature net.

Where no pretrained extractor can be had (the embedded default, offline), the
search matches the moments of a network trained on the target data, which GFMN
also does. Training is seeded and its result cached (``slt_tf.data.cache``) under a
key of the dataset, split, resolution, seed and recipe, so every run with the
same key uses the same weights file.
"""

import dataclasses
from typing import Tuple

from absl import logging
import keras
import numpy as np

from slt_tf.data import cache
from slt_tf.data import datasets
from slt_tf.data import folders
from slt_tf.features import names

BATCH_SIZE, LEARNING_RATE = 64, 1e-3


@dataclasses.dataclass(frozen=True)
class Recipe:
  """Architecture and training of one classifier.

  Attributes:
    name: cache identity; change it whenever anything below changes, so that
      old cache entries no longer match.
    widths: conv widths, "M" for a 2x2 max pool.
    hidden: width of a ReLU dense layer before the logits (0: none).
    epochs: training epochs.
    taps: features returned: "relus" (every conv ReLU, flattened and
      concatenated) or "hidden" (the dense layer).
  """
  name: str
  widths: tuple
  hidden: int
  epochs: int
  taps: str


# The moment-matching feature net of the embedded default.
FEATURE_NET = Recipe("convnet-32-64-128/adam1e-3/epochs3/batch64/v1",
                     names.CLASSIFIER_WIDTHS, 0, 3, "relus")
# The domain evaluator (``backbones.digits``): another architecture, trained with a
# fixed seed, so it is independent of the feature net the search matched and
# the same for every run it compares.
EVALUATOR = Recipe("evaluator-64-128-256-fc256/adam1e-3/epochs5/batch64/v1",
                   (64, "M", 128, "M", 256, "M"), 256, 5, "hidden")
RECIPE = FEATURE_NET.name


def networks(resolution: int, num_classes: int, recipe: Recipe = FEATURE_NET
             ) -> Tuple[keras.Model, keras.Model]:
  """(classifier, feature model) sharing their layers; inputs in [-1, 1].

  The feature model returns the recipe's taps (see ``Recipe``).
  """
  images = keras.Input((resolution, resolution, 3), name="images")
  # Digits on a zero background train several times faster than on -1.
  x = keras.layers.Rescaling(0.5, offset=0.5, name="to_unit")(images)
  taps, i = [], 0
  for w in recipe.widths:
    if w == "M":
      x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    else:
      x = keras.layers.Conv2D(w, 3, padding="same", activation="relu",
                              name=f"conv_{i}")(x)
      taps.append(keras.layers.Flatten()(x))
    i += 1
  x = keras.layers.Flatten()(x)
  if recipe.hidden:
    x = keras.layers.Dense(recipe.hidden, activation="relu", name="hidden")(x)
  logits = keras.layers.Dense(num_classes, name="logits")(x)
  classifier = keras.Model(images, logits, name="classifier")
  if recipe.taps == "hidden":
    output = x
  else:
    output = keras.layers.Concatenate(name="features")(taps)
  features = keras.Model(images, output, name="classifier_features")
  return classifier, features


def cache_key(dataset: str, resolution: int, seed: int,
              recipe: Recipe = FEATURE_NET, data_dir=None,
              holdout: float = folders.HOLDOUT) -> dict:
  return {"kind": "classifier",
          "dataset": datasets.identity(dataset, data_dir, holdout),
          "split": "train", "resolution": resolution, "seed": seed,
          "recipe": recipe.name}


def ensure_trained(dataset: str, resolution: int, seed: int, cache_dir: str,
                   data_dir=None, recipe: Recipe = FEATURE_NET,
                   holdout: float = folders.HOLDOUT) -> Tuple[str, dict]:
  """Trains the classifier on ``dataset``'s train split unless cached.

  Args:
    dataset: a labelled dataset (see ``slt_tf.data.datasets``).
    resolution: image size.
    seed: seed of the initial weights and the shuffling.
    cache_dir: cache root.
    data_dir: TFDS data directory.
    recipe: ``FEATURE_NET`` or ``EVALUATOR``.
    holdout: an image folder's held-out fraction.

  Returns:
    (path of the weights file, info dict with ``test_accuracy`` and
    ``num_classes``).
  """
  key = cache_key(dataset, resolution, seed, recipe, data_dir, holdout)
  path = cache.entry_path(cache_dir, "classifier", key)
  arrays, _ = cache.load_or_compute(
      path, key,
      lambda: _train(dataset, resolution, seed, data_dir, recipe, holdout,
                     path))
  return path, {"test_accuracy": float(arrays["test_accuracy"]),
                "num_classes": int(arrays["num_classes"])}


def _train(dataset: str, resolution: int, seed: int, data_dir,
           recipe: Recipe, holdout: float, path: str) -> dict:
  """Trains the classifier; its weights, held-out accuracy and class count
  as the arrays of a cache entry (``path``, where they will be stored)."""
  train = datasets.load(dataset, resolution, "train", data_dir,
                        with_labels=True, holdout=holdout)
  logging.info("training the %s classifier (%s) on %d images (%d epochs; "
               "cached afterwards in %s)", dataset, recipe.name, train.count,
               recipe.epochs, path)
  keras.utils.set_random_seed(seed)
  classifier, _ = networks(resolution, train.num_classes, recipe)
  classifier.compile(
      optimizer=keras.optimizers.Adam(LEARNING_RATE),
      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=["accuracy"])
  classifier.fit(datasets.batched(train.dataset, BATCH_SIZE, shuffle_seed=seed,
                              cache=True),
                 epochs=recipe.epochs, shuffle=False, verbose=0)  # Shuffled above.
  accuracy = float("nan")
  try:
    test = datasets.load(dataset, resolution, "test", data_dir,
                         with_labels=True, holdout=holdout)
    accuracy = float(classifier.evaluate(
        datasets.batched(test.dataset, 256), verbose=0, return_dict=True)
        ["accuracy"])
  except datasets.DataError:
    logging.info("%s has no test split; held-out accuracy not measured",
                 dataset)
  logging.info("classifier %s: held-out accuracy %.4f", recipe.name, accuracy)
  return {**{f"w{i}": w for i, w in enumerate(classifier.get_weights())},
          "test_accuracy": np.float64(accuracy),
          "num_classes": np.int64(train.num_classes)}


def load_features(path: str, resolution: int, recipe: Recipe = FEATURE_NET
                  ) -> keras.Model:
  """The feature model with the weights of a file from ``ensure_trained``."""
  return load_networks(path, resolution, recipe)[1]


def load_networks(path: str, resolution: int, recipe: Recipe = FEATURE_NET
                  ) -> Tuple[keras.Model, keras.Model]:
  """(classifier, feature model) with the weights of an ``ensure_trained`` file."""
  try:
    with np.load(path, allow_pickle=False) as stored:
      num_classes = int(stored["num_classes"])
      weights = [stored[f"w{i}"] for i in
                 range(sum(1 for k in stored.files if k.startswith("w")))]
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{path}: not a classifier weights file ({e})") from None
  classifier, features = networks(resolution, num_classes, recipe)
  try:
    classifier.set_weights(weights)
  except ValueError as e:
    raise ValueError(f"{path}: weights do not fit a {resolution}px "
                     f"classifier ({e})") from None
  # Shared layers: frozen only after training, never before.
  classifier.trainable = features.trainable = False
  return classifier, features
