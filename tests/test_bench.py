"""The benchmark scripts still run (tiny sizes; their figures are not checked
here: speed targets live in BENCHMARKS.md, never in timed unit tests)."""

import json
import os
import subprocess
import sys

from absl.testing import parameterized
import tensorflow as tf

import testutil


def run_bench(script, *args):
  result = subprocess.run(
      [sys.executable, os.path.join(testutil.REPO, "bench", script), *args],
      capture_output=True, text=True, timeout=600,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               SLT_TF_CACHE=testutil.shared_dir("cache")))
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


class BenchTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters("ticket", "dense")
  def testStepTime_OneJsonLineWithTheStepFigures(self, mode):
    report = run_bench("step_time.py", "--arch=gfmn", "--width=4",
                       "--batch_size=4", "--steps=1", "--warmup=1",
                       f"--mode={mode}")
    self.assertEqual((report["mode"], report["feature_dim"]),
                     (mode, 303_104))
    self.assertGreater(report["median_step_s"], 0)
    self.assertGreater(report["params_generator"], 0)

  def testMaskOverhead_Runs(self):
    report = run_bench("mask_overhead.py", "--batch_size=2", "--width=16",
                       "--repeats=1")
    self.assertGreater(report["ticket_over_dense"], 0)
