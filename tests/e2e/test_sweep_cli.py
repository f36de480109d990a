"""End-to-end tests of ``python -m slt_tf.sweep``, the study's sweep preset
(real subprocesses, real files)."""

import os

import tensorflow as tf

import testutil
from testutil import strict_json


class SweepTest(tf.test.TestCase):

  def testTinySweep_TableJsonAndPlot(self):
    sweep_dir = os.path.join(self.get_temp_dir(), "sweep")
    result = testutil.run_module(
        "slt_tf.sweep", "--flagfile=configs/demo.cfg",
        f"--sweep_dir={sweep_dir}", "--keep_ratios=0.1,0.5", "--width=4",
        "--train_steps=2", "--eval_samples=40", "--batch_size=8",
        "--eval_every=0", "--eval_bn_batches=0",
        "--max_real_images=128", f"--data_dir={testutil.data_dir()}",
        f"--cache_dir={testutil.cache_dir()}")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    rows = strict_json(os.path.join(sweep_dir, "results.json"))
    self.assertEqual([(r["method"], r["keep_ratio"], r["steps"]) for r in rows],
                     [("ticket", 0.1, 2), ("ticket", 0.5, 2),
                      ("dense", 1.0, 2)])
    self.assertTrue(all(r["split"] == "test[50%:]" for r in rows))
    table = open(os.path.join(sweep_dir, "results.md")).read()
    self.assertIn("fid_digits_40", table)
    self.assertEqual(len(table.strip().splitlines()), 2 + 3)
    plot = tf.io.decode_png(open(os.path.join(
        sweep_dir, "fid_vs_keep_ratio.png"), "rb").read())
    self.assertEqual(plot.shape[-1], 4)
    self.assertGreater(int(plot.shape[0]), 100)

  def testBadKeepRatios_OneLineError(self):
    result = testutil.run_module(
        "slt_tf.sweep", "--flagfile=configs/demo.cfg",
        f"--sweep_dir={self.get_temp_dir()}/s", "--keep_ratios=0.1,abc")
    self.assertNotEqual(result.returncode, 0)
    self.assertRegex(result.stderr.strip().splitlines()[-1],
                     "^error: --keep_ratios")


if __name__ == "__main__":
  tf.test.main()
