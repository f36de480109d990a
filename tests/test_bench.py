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
    # The step holds at least VGG19-BN's forward convolutions (closed form:
    # 2 * H * W * 9 * C_in * C_out per image and conv, torchvision's layout).
    vgg_forward = 0
    size, c_in = 32, 3
    for block, (width, convs) in enumerate(
        [(64, 2), (128, 2), (256, 4), (512, 4), (512, 4)]):
      for _ in range(convs):
        vgg_forward += 2 * size * size * 9 * c_in * width * 4
        c_in = width
      size //= 2
    self.assertGreater(report["gflop_per_step"] * 1e9, vgg_forward)
    self.assertLess(report["gflop_per_step"] * 1e9, 10 * vgg_forward)

  @parameterized.parameters("synthetic", "real")
  def testStepTime_AdversarialWithSyntheticOrRealBatches(self, source):
    report = run_bench("step_time.py", "--arch=gfmn", "--width=4",
                       "--batch_size=4", "--steps=1", "--warmup=1",
                       "--method=adversarial_ticket", "--d_width=4",
                       f"--input={source}",
                       f"--data_dir={testutil.data_dir()}",
                       "--feature_layers=1,2")
    self.assertEqual((report["method"], report["input"]),
                     ("adversarial_ticket", source))
    self.assertEqual(report["feature_dim"], 2 * 64 * 32 * 32)
    self.assertGreater(report["peak_rss_mb"], 100)

  def testProfileStep_TraceAndOpShares(self):
    logdir = os.path.join(self.get_temp_dir(), "trace")
    report = run_bench("profile_step.py", "--arch=gfmn", "--width=4",
                       "--batch_size=4", "--steps=1", "--warmup=1",
                       f"--logdir={logdir}")
    self.assertEqual(report["step_traces"], 1)  # No retracing.
    self.assertAlmostEqual(sum(report["op_types"].values()), 1.0, delta=0.5)
    self.assertTrue(any(k.startswith("vgg19_bn") for k in report["scopes"]))
    self.assertNotEmpty(tf.io.gfile.glob(logdir + "/**/*.xplane.pb")
                        or tf.io.gfile.glob(logdir + "/*/*/*/*.xplane.pb"))

  def testTorchReferenceStep_SameNetworkAsOurs(self):
    """Skipped unless torch is installed (it is not a dependency)."""
    try:
      import torch  # pylint: disable=g-import-not-at-top,unused-import
    except ImportError:
      self.skipTest("torch is not installed")
    theirs = run_bench("torch_reference_step.py", "--batch_size=2",
                       "--steps=1", "--warmup=0", "--ch=16")
    ours = run_bench("step_time.py", "--arch=sngan", "--width=16",
                     "--batch_size=2", "--steps=1", "--warmup=0")
    for key in ("params_generator", "feature_dim"):
      self.assertEqual(theirs[key], ours[key], key)

  def testGraphFlops_CountsAMatrixProduct(self):
    sys.path.insert(0, os.path.join(testutil.REPO, "bench"))
    import timing  # pylint: disable=g-import-not-at-top
    a = tf.ones([30, 40])
    b = tf.ones([40, 50])
    self.assertEqual(timing.graph_flops(tf.function(lambda: a @ b)),
                     2 * 30 * 40 * 50)

  def testMaskOverhead_Runs(self):
    report = run_bench("mask_overhead.py", "--batch_size=2", "--width=16",
                       "--repeats=1")
    self.assertGreater(report["ticket_over_dense"], 0)
