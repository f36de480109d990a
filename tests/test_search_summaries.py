"""What the search reports while it runs (``slt_tf.search.summaries``):
kept fractions and flip rate against NumPy counts, the ETA text, and the
progress scalars read back from real TensorBoard event files."""

import glob
import os

import keras
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.search import summaries
from slt_tf.ticket import layers


def _model(keep_ratio=0.25):
  inputs = keras.Input((6,))
  x = layers.MaskedDense(8, keep_ratio=keep_ratio, seed=1, name="a")(inputs)
  x = layers.MaskedDense(3, keep_ratio=keep_ratio, seed=2, name="b")(x)
  # A dense-mode layer has no mask: the monitor leaves it out.
  x = layers.MaskedDense(2, mode="dense", seed=3, name="c")(x)
  return keras.Model(inputs, x)


def _bits(layer):
  return np.concatenate([np.asarray(layer.mask()).ravel(),
                         np.asarray(layer.bias_mask()).ravel()]) > 0


class MaskMonitorTest(tf.test.TestCase):

  def testMeasure_KeptFractionsAndFlipRateAsNumpyCountsThem(self):
    model = _model()
    monitor = summaries.MaskMonitor(model)
    self.assertEqual([l.name for l in monitor.layers], ["a", "b"])
    first = monitor.measure()
    before = [_bits(l) for l in monitor.layers]
    total = sum(b.size for b in before)
    self.assertAllClose(first["kept_fraction/total"],
                        sum(int(b.sum()) for b in before) / total)
    for layer, bits in zip(monitor.layers, before):
      self.assertAllClose(first[f"kept_fraction/{layer.path}"], bits.mean())
    self.assertNotIn("mask_flip_rate", first)  # Nothing to compare with yet.

    rng = np.random.RandomState(0)
    layer = monitor.layers[0]
    layer.scores.assign(rng.rand(*layer.scores.shape).astype("float32"))
    second = monitor.measure()
    after = [_bits(l) for l in monitor.layers]
    flips = sum(int(np.count_nonzero(a != b)) for a, b in zip(after, before))
    self.assertGreater(flips, 0)
    self.assertAllClose(second["mask_flip_rate"], flips / total)
    # Unchanged scores: no flip.
    self.assertEqual(monitor.measure()["mask_flip_rate"], 0.0)

  def testMeasure_NoMaskedLayer_NothingMeasured(self):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.MaskedDense(2, mode="dense",
                                                   seed=0)(inputs))
    self.assertEqual(summaries.MaskMonitor(model).measure(), {})


class ProgressTest(tf.test.TestCase):

  def testFormatEta_MinutesAndSecondsThenHours(self):
    for seconds, text in ((0, "0m00s"), (59.9, "0m59s"), (61, "1m01s"),
                          (3725, "1h02m05s"), (-5, "0m00s")):
      self.assertEqual(summaries.format_eta(seconds), text)

  def testLogProgress_ScalarsInTheEventFileAndOneConsoleLine(self):
    logdir = self.get_temp_dir()
    writer = tf.summary.create_file_writer(logdir)
    config = TrainConfig.make(workdir=logdir, train_steps=100)
    metrics = {"loss": 0.5, "loss_mean": 0.3, "loss_var": 0.2,
               "mean_mse": 0.01, "var_mse": 0.02}
    with self.assertLogs(level="INFO") as logs:
      summaries.log_progress(config, writer, 40, metrics, lr=1e-3, rate=2.0)
    writer.flush()
    line = "\n".join(logs.output)
    self.assertIn("step 40/100", line)
    self.assertIn("ETA 0m30s", line)  # 60 steps at 2 steps/s.
    found = {}
    for path in glob.glob(os.path.join(logdir, "events.*")):
      for event in tf.compat.v1.train.summary_iterator(path):
        for value in event.summary.value:
          found[value.tag] = (event.step,
                              float(tf.make_ndarray(value.tensor)))
    self.assertEqual(found["loss/loss"], (40, 0.5))
    self.assertEqual(found["loss/var_mse"][1], np.float32(0.02))
    self.assertEqual(found["learning_rate"][1], np.float32(1e-3))
    self.assertEqual(found["steps_per_second"], (40, 2.0))


if __name__ == "__main__":
  tf.test.main()
