"""Real feature statistics: streamed over the dataset, cached with a key.

The mean and unbiased variance of the extractor's features over the training
set are computed once, batch by batch (Chan et al.'s pairwise update in float64,
so no feature matrix is ever held), and cached by ``slt_tf.data.cache`` under a key
of everything they depend on: dataset, split, resolution, extractor, weights
digest, batch-norm mode, batch size (batch-statistics batch norm depends on it),
image count and order. A cache entry with another key is never reused.

The images are taken in a shuffled order, as the authors' loader shuffles:
with batch statistics in the extractor's batch norm, what shares a batch
matters, and a folder sorted by file name (often by class) would otherwise
give moments of one-class batches. A folder's files are permuted with
``SHUFFLE_SEED``; a TFDS split is read in its stored order, which TFDS
shuffled when it prepared it.
"""

import time
from typing import Optional, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from slt_tf.data import cache
from slt_tf.data import datasets
from slt_tf.data import folders


def stream_moments(batches, feature_fn, total: Optional[int] = None,
                   log_every_s: float = 30.0) -> Tuple[np.ndarray, np.ndarray,
                                                       int]:
  """Mean and unbiased variance of ``feature_fn`` over an iterable of batches.

  Args:
    batches: iterable of image batches.
    feature_fn: batch -> features (b, D).
    total: expected image count, for progress messages.
    log_every_s: seconds between progress messages.

  Returns:
    (mean float64 (D,), variance float64 (D,), count).
  """
  count, mean, m2 = 0, None, None
  last = time.time()
  for batch in batches:
    f = np.asarray(feature_fn(batch), np.float64)
    b = f.shape[0]
    batch_mean = f.mean(axis=0)
    batch_m2 = np.square(f - batch_mean).sum(axis=0)
    if mean is None:
      count, mean, m2 = b, batch_mean, batch_m2
    else:
      new_count = count + b
      delta = batch_mean - mean
      mean = mean + delta * (b / new_count)
      m2 = m2 + batch_m2 + np.square(delta) * (count * b / new_count)
      count = new_count
    if time.time() - last > log_every_s:
      last = time.time()
      logging.info("real statistics: %d%s images", count,
                   f"/{total}" if total else "")
  if count < 2:
    raise ValueError(f"real statistics need at least 2 images, got {count}")
  return mean, m2 / (count - 1), count


SHUFFLE_SEED = 0x5EED


def load_or_compute(extractor, dataset: str, resolution: int, split: str,
                    batch_size: int, cache_dir: str, data_dir=None,
                    max_images: int = 0, holdout: float = folders.HOLDOUT
                    ) -> Tuple[np.ndarray, np.ndarray, dict]:
  """The real (mean, variance) of ``extractor`` on a dataset, from the cache.

  Args:
    extractor: a ``slt_tf.features.FeatureExtractor``.
    dataset, resolution, split, data_dir: see ``slt_tf.data.load``.
    batch_size: batch of the feature pass.
    cache_dir: cache root.
    max_images: use only N images (0: all), the first N of the shuffled
      order.
    holdout: an image folder's held-out fraction.

  Returns:
    (mean float32, variance float32, key with the image count).
  """
  images = datasets.load(dataset, resolution, split, data_dir,
                         shuffle_seed=SHUFFLE_SEED, holdout=holdout)
  count = images.count if max_images <= 0 else min(max_images, images.count)
  key = {"kind": "real_stats",
         "dataset": datasets.identity(dataset, data_dir, holdout),
         "split": split,
         "resolution": resolution, "batch_size": batch_size, "count": count,
         "order": (f"shuffled:{SHUFFLE_SEED}" if folders.is_folder(dataset)
                   else "tfds"), **extractor.cache_identity()}
  path = cache.entry_path(cache_dir, "real_stats", key)

  def compute():
    logging.info("real statistics: computing over %d %s/%s images with %s",
                 count, dataset, split, extractor.describe())
    ds = datasets.batched(images.dataset.take(count), batch_size)
    fn = tf.function(lambda x: extractor.model(x, training=False))
    start = time.time()
    mean, variance, seen = stream_moments(ds, fn, count)
    assert seen == count, (seen, count)
    logging.info("real statistics: %d images in %.1f s, cached in %s", count,
                 time.time() - start, path)
    return {"mean": mean.astype(np.float32),
            "variance": variance.astype(np.float32)}

  stats, computed = cache.load_or_compute(path, key, compute)
  if not computed:
    logging.info("real statistics: cached in %s (%d images)", path, count)
  return stats["mean"], stats["variance"], key
