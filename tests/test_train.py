"""End-to-end tests of ``python -m slt_tf.train`` (real subprocesses, real files)."""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_train(*args, cwd=REPO):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  return subprocess.run([sys.executable, "-m", "slt_tf.train", *args],
                        cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=300)


class TrainEntryPointTest(tf.test.TestCase, parameterized.TestCase):

  def testDemoFlagfile_WritesConfigFlagsAndSampleGrid(self):
    workdir = os.path.join(self.get_temp_dir(), "demo")
    result = run_train("--flagfile=configs/demo.cfg", f"--workdir={workdir}",
                       "--width=4", "--num_samples=6", "--seed=3")
    self.assertEqual(result.returncode, 0, result.stderr)
    config = json.load(open(os.path.join(workdir, "config.json")))
    self.assertEqual((config["arch"], config["resolution"], config["width"],
                      config["ticket"]["seed"], config["ticket"]["keep_ratio"]),
                     ("gfmn", 32, 4, 3, 0.1))
    flags_text = open(os.path.join(workdir, "flags.txt")).read()
    self.assertIn("--width=4", flags_text)
    self.assertIn("--keep_ratio=0.1", flags_text)
    grid = tf.io.decode_png(open(os.path.join(workdir, "samples", "init.png"),
                                 "rb").read()).numpy()
    # 6 images of 32 px tile as 3 columns x 2 rows with 2 px padding.
    self.assertEqual(grid.shape, (2 * 34 + 2, 3 * 34 + 2, 3))
    self.assertGreater(grid.std(), 0)

  @parameterized.parameters(
      ("--keep_ratio=0", "--keep_ratio"), ("--keep_ratio=1.5", "--keep_ratio"),
      ("--arch=dcgan", "--arch"), ("--resolution=48", "--resolution"),
      ("--mode=sparse", "--mode"), ("--num_classes=3", "--num_classes"))
  def testBadFlag_OneLineErrorNonZeroExitNoOutput(self, flag, name):
    workdir = os.path.join(self.get_temp_dir(), "bad")
    result = run_train(f"--workdir={workdir}", flag)
    self.assertNotEqual(result.returncode, 0)
    last = result.stderr.strip().splitlines()[-1]
    self.assertIn(name, last)
    self.assertNotIn("Traceback", result.stderr)
    self.assertFalse(os.path.exists(workdir))

  def testMissingFlagfile_FailsNamingIt(self):
    result = run_train("--flagfile=configs/nope.cfg", "--workdir=/tmp/x")
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("nope.cfg", result.stderr)


class ImagesTest(tf.test.TestCase):

  def testMakeGrid_PlacesTilesLikeNumpyReference(self):
    from slt_tf import images  # pylint: disable=g-import-not-at-top
    batch = np.random.default_rng(0).integers(0, 255, (5, 4, 3, 3), np.uint8)
    grid = images.make_grid(batch, columns=2, padding=1)
    self.assertEqual(grid.shape, (3 * 5 + 1, 2 * 4 + 1, 3))
    for i in range(5):
      r, c = divmod(i, 2)
      np.testing.assert_array_equal(
          grid[1 + r * 5:1 + r * 5 + 4, 1 + c * 4:1 + c * 4 + 3], batch[i])
    self.assertEqual(grid[0].max(), 0)

  def testToUint8_MapsRangeEnds(self):
    from slt_tf import images  # pylint: disable=g-import-not-at-top
    np.testing.assert_array_equal(images.to_uint8([-1.0, 0.0, 1.0, 7.0]),
                                  [0, 128, 255, 255])

  def testWritePng_Atomic_RoundTrips(self):
    from slt_tf import images  # pylint: disable=g-import-not-at-top
    path = os.path.join(self.get_temp_dir(), "sub", "x.png")
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    images.write_png(path, image)
    self.assertEqual(os.listdir(os.path.dirname(path)), ["x.png"])
    np.testing.assert_array_equal(
        tf.io.decode_png(open(path, "rb").read()).numpy(), image)


if __name__ == "__main__":
  tf.test.main()
