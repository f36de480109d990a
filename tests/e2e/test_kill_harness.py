"""The random-kill harness (``bench/kill_harness.py``) on a few trials: a
search SIGKILLed at random moments and restarted ends bit-identical to an
uninterrupted one with no torn file, and a killed export leaves no
half-written version. ``SLT_TF_KILL_TRIALS`` sets the trial count (CI runs a
few; BENCHMARKS.md records a long run of the same harness)."""

import os
import sys

import tensorflow as tf

import testutil

TRIALS = int(os.environ.get("SLT_TF_KILL_TRIALS", "4"))


class KillHarnessTest(tf.test.TestCase):

  def testRandomKills_NoTornFileAndABitIdenticalEnd(self):
    sys.path.insert(0, os.path.join(testutil.REPO, "bench"))
    import kill_harness  # pylint: disable=g-import-not-at-top
    report = kill_harness.harness(
        TRIALS, export=2, seed=1, steps=12,
        cache_dir=testutil.cache_dir(), data_dir=testutil.data_dir())
    self.assertEqual(report["torn_files"], [])
    self.assertEqual(report["variables_differing"], [])
    self.assertGreater(report["variables"], 10)
    self.assertEqual(report["final_step"], 12)
    self.assertEqual(report["unloadable_versions"], [])
    self.assertEqual(sum(report["kills_by_phase"].values()), TRIALS)
    self.assertTrue(report["ok"])

  def testTornFileCheck_SeesATruncatedJsonAndPng(self):
    """The harness's own check, on files torn by hand, so that it can fail."""
    sys.path.insert(0, os.path.join(testutil.REPO, "bench"))
    import kill_harness  # pylint: disable=g-import-not-at-top
    workdir = self.get_temp_dir()
    with open(os.path.join(workdir, "result.json"), "w") as f:
      f.write('{"step": 3, "metr')
    png = tf.io.encode_png(tf.zeros([4, 4, 1], tf.uint8)).numpy()
    with open(os.path.join(workdir, "grid.png"), "wb") as f:
      f.write(png[:len(png) // 2])
    torn = kill_harness.torn_files(workdir)
    self.assertLen(torn, 2)


if __name__ == "__main__":
  tf.test.main()
