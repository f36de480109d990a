"""Real statistics: streamed moments against NumPy, and the keyed cache."""

import os
import threading
import time

import numpy as np
import tensorflow as tf

from slt_tf.data import cache
from slt_tf.data import datasets
from slt_tf.data import real_stats
from slt_tf import features
from slt_tf.features import classifier
import testutil


class StreamMomentsTest(tf.test.TestCase):

  def testUnevenBatchesFarFromZero_MatchNumPyUnbiasedMoments(self):
    rng = np.random.default_rng(0)
    x = rng.normal(1000.0, 0.5, size=(103, 7)).astype(np.float32)
    batches = [x[:10], x[10:11], x[11:64], x[64:]]
    mean, var, count = real_stats.stream_moments(batches, lambda b: b)
    self.assertEqual(count, 103)
    x64 = x.astype(np.float64)
    self.assertAllClose(mean, x64.mean(0), rtol=1e-12)
    self.assertAllClose(var, x64.var(0, ddof=1), rtol=1e-9)

  def testOneImage_Refused(self):
    with self.assertRaisesRegex(ValueError, "at least 2 images"):
      real_stats.stream_moments([np.zeros((1, 3))], lambda b: b)


class CacheTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    path, _ = classifier.ensure_trained(datasets.EMBEDDED, 32, 0,
                                        testutil.cache_dir(),
                                        testutil.data_dir())
    cls.extractor = features.build("classifier", 32, path)

  def stats(self, cache_dir, max_images=40, batch_size=16):
    return real_stats.load_or_compute(
        self.extractor, datasets.EMBEDDED, 32, "train", batch_size, cache_dir,
        testutil.data_dir(), max_images)

  def testComputedThenCached_EqualNumPyOverAllFeatures(self):
    cache_dir = self.get_temp_dir()
    mean, var, key = self.stats(cache_dir)
    # A TFDS split in its stored order, which TFDS shuffled when preparing it.
    self.assertEqual(key["order"], "tfds")
    images = datasets.load(datasets.EMBEDDED, 32, "train", testutil.data_dir())
    x = next(iter(datasets.batched(images.dataset, 40)))
    f = self.extractor.model(x).numpy().astype(np.float64)
    self.assertAllClose(mean, f.mean(0), rtol=1e-5, atol=1e-6)
    self.assertAllClose(var, f.var(0, ddof=1), rtol=1e-4, atol=1e-6)
    path = cache.entry_path(cache_dir, "real_stats", key)
    mtime = os.path.getmtime(path)
    again_mean, _, again_key = self.stats(cache_dir)
    self.assertEqual((again_key, os.path.getmtime(path)), (key, mtime))
    self.assertAllEqual(again_mean, mean)

  def testChangedCountOrBatch_NewEntryNeverTheOldOne(self):
    cache_dir = self.get_temp_dir()
    _, _, key = self.stats(cache_dir, max_images=40)
    _, _, other = self.stats(cache_dir, max_images=24)
    _, _, batch = self.stats(cache_dir, max_images=40, batch_size=8)
    self.assertEqual((key["count"], other["count"]), (40, 24))
    paths = {cache.entry_path(cache_dir, "real_stats", k)
             for k in (key, other, batch)}
    self.assertLen(paths, 3)

  def testEntryWithAnotherKeyOrCorrupted_Recomputed(self):
    cache_dir = self.get_temp_dir()
    mean, var, key = self.stats(cache_dir)
    path = cache.entry_path(cache_dir, "real_stats", key)
    # A file at the right name but holding another key (e.g. stale weights).
    cache.save(path, dict(key, weights_id="0123456789abcdef"),
               {"mean": np.zeros_like(mean), "variance": np.zeros_like(var)})
    recomputed, _, _ = self.stats(cache_dir)
    self.assertAllClose(recomputed, mean)
    with open(path, "r+b") as f:
      f.truncate(100)
    recomputed, _, _ = self.stats(cache_dir)
    self.assertAllClose(recomputed, mean)
    self.assertIsNotNone(cache.load(path, key))  # Rewritten whole.

  def testCacheLoad_MissingFileNoneAndKeyChecked(self):
    path = os.path.join(self.get_temp_dir(), "x", "entry.npz")
    self.assertIsNone(cache.load(path, {"a": 1}))
    cache.save(path, {"a": 1}, {"v": np.arange(3)})
    self.assertAllEqual(cache.load(path, {"a": 1})["v"], np.arange(3))
    self.assertIsNone(cache.load(path, {"a": 2}))
    self.assertEqual(os.listdir(os.path.dirname(path)), ["entry.npz"])

  def testLoadOrCompute_ConcurrentCallersComputeOnceThenLoad(self):
    """Threads stand in for the processes of a study's shards: ``flock``
    locks belong to open files, so two threads exclude each other as two
    processes do."""
    path = os.path.join(self.get_temp_dir(), "shared", "entry.npz")
    calls, results = [], [None] * 3

    def compute():
      calls.append(1)
      time.sleep(0.5)  # Long enough for the others to be waiting.
      return {"v": np.arange(4.0)}

    def call(i):
      results[i] = cache.load_or_compute(path, {"k": 1}, compute)
    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
      t.start()
    for t in threads:
      t.join()
    self.assertLen(calls, 1)
    self.assertEqual(sorted(computed for _, computed in results),
                     [False, False, True])
    for arrays, _ in results:
      self.assertAllEqual(arrays["v"], np.arange(4.0))
    arrays, computed = cache.load_or_compute(path, {"k": 2}, lambda: {
        "v": np.ones(2)})
    self.assertTrue(computed)  # Another key: computed, not the stored one.
    self.assertAllEqual(arrays["v"], np.ones(2))


if __name__ == "__main__":
  tf.test.main()
