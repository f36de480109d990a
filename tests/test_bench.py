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
  result = testutil.run_python(
      os.path.join(testutil.REPO, "bench", script), *args, timeout=600,
      env=dict(SLT_TF_CACHE=testutil.cache_dir()))
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


class BenchTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters("ticket", "dense")
  def testStepTime_OneJsonLineWithTheStepFigures(self, method):
    report = run_bench("step_time.py", "--arch=gfmn", "--width=4",
                       "--batch_size=4", "--steps=1", "--warmup=1",
                       f"--method={method}", "--noroofline")
    self.assertEqual((report["method"], report["mode"], report["feature_dim"]),
                     (method, method, 303_104))
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
                       "--feature_layers=1,2", "--noroofline")
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

  def testGpuCheck_DryRun_EveryKindOfLineWithoutErrors(self):
    """The GPU machine's script, run as a GPU machine runs it (the shell
    script) but in its dry mode: tiny models on this CPU, one architecture."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               VIRTUAL_ENV=os.path.dirname(os.path.dirname(sys.executable)))
    result = subprocess.run(
        ["bash", os.path.join(testutil.REPO, "bench", "gpu_check.sh"),
         "--dry_run", "--archs=sngan"], cwd=testutil.REPO, env=env,
        capture_output=True, text=True, timeout=900)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    lines = [json.loads(l) for l in result.stdout.splitlines()]
    kinds = [l["kind"] for l in lines]
    self.assertEqual(kinds[0], "device")
    self.assertEqual(kinds[-1], "done")
    self.assertTrue(lines[0]["dry_run"])
    for key in ("device", "cuda", "cudnn", "tensorflow", "cpu", "isa",
                "low_precision"):
      self.assertIn(key, lines[0])
    steps = [l for l in lines if l["kind"] == "step"]
    self.assertCountEqual(
        [(l["precision"], l["jit_compile"]) for l in steps],
        [(p, j) for p in ("float32", "bfloat16") for j in (False, True)])
    for line in steps + [l for l in lines if l["kind"] == "mirrored_step"]:
      self.assertNotIn("error", line)
      self.assertGreater(line["median_step_s"], 0)
      self.assertGreater(line["gflop_per_step"], 0)
      # On a CPU the CPU's selection (NthElement) is chosen, but for XLA.
      self.assertEqual(bool(line["host_only_ops"]), not line["jit_compile"],
                       line)
    self.assertEqual(kinds.count("mirrored_step"), 1)
    selections = [l for l in lines if l["kind"] == "selection"]
    self.assertLen(selections, 4)
    self.assertTrue(all(l["same_threshold"] for l in selections))

  def testGpuCheck_PeakTable_PcieBeforeSxm(self):
    sys.path.insert(0, os.path.join(testutil.REPO, "bench"))
    try:
      import gpu_peaks  # pylint: disable=g-import-not-at-top
    finally:
      sys.path.pop(0)
    self.assertEqual(gpu_peaks.peak_tflops("NVIDIA H100 PCIe", "bfloat16"),
                     756.0)
    self.assertEqual(gpu_peaks.peak_tflops("NVIDIA H100 80GB HBM3",
                                           "float32"), 494.7)
    self.assertIsNone(gpu_peaks.peak_tflops("NVIDIA GeForce GT 710",
                                            "float32"))

  def testTorchReferenceStep_SameNetworkAsOurs(self):
    """Skipped unless torch is installed (it is not a dependency)."""
    try:
      import torch  # pylint: disable=g-import-not-at-top,unused-import
    except ImportError:
      self.skipTest("torch is not installed")
    theirs = run_bench("torch_reference_step.py", "--batch_size=2",
                       "--steps=1", "--warmup=0", "--ch=16")
    ours = run_bench("step_time.py", "--arch=sngan", "--width=16",
                     "--batch_size=2", "--steps=1", "--warmup=0",
                     "--noroofline")
    for key in ("params_generator", "feature_dim"):
      self.assertEqual(theirs[key], ours[key], key)

  def testGraphFlops_CountsAMatrixProduct(self):
    sys.path.insert(0, os.path.join(testutil.REPO, "bench"))
    import timing  # pylint: disable=g-import-not-at-top
    a = tf.ones([30, 40])
    b = tf.ones([40, 50])
    self.assertEqual(timing.graph_flops(tf.function(lambda: a @ b)),
                     2 * 30 * 40 * 50)

  def testStepTime_DemoSettingWithRooflineAndMachine(self):
    report = run_bench("step_time.py", "--arch=gfmn", "--width=4",
                       "--features=classifier", "--batch_size=4",
                       "--steps=1", "--warmup=1", "--roofline_repeats=1")
    # The digits classifier's three ReLUs, flattened.
    self.assertEqual(report["feature_dim"],
                     32 * 32 * 32 + 16 * 16 * 64 + 8 * 8 * 128)
    self.assertGreater(report["roofline_s"], 0)
    self.assertAlmostEqual(report["roofline_fraction"],
                           report["roofline_s"] / report["median_step_s"],
                           delta=0.01)
    self.assertCountEqual(
        report["roofline_by_kind"],
        ["conv_forward", "conv_input_grad", "conv_filter_grad"])
    for key in ("cpu", "isa", "cores", "tensorflow", "onednn"):
      self.assertIn(key, report)
    self.assertEqual(report["tensorflow"], tf.__version__)

  def testRoofline_FindsEveryKernelOfAStepWithItsShapes(self):
    sys.path.insert(0, os.path.join(testutil.REPO, "bench"))
    import roofline  # pylint: disable=g-import-not-at-top
    x = tf.random.normal([2, 8, 8, 3])
    w = tf.Variable(tf.random.normal([3, 3, 3, 5]))
    d = tf.Variable(tf.random.normal([5, 7]))

    @tf.function
    def step():
      with tf.GradientTape() as tape:
        y = tf.nn.conv2d(x, w, 1, "SAME")
        loss = tf.reduce_sum(tf.reduce_mean(y, [1, 2]) @ d)
      return tape.gradient(loss, [w, d])

    kernels = roofline.graph_kernels(step)
    found = sorted((k.op_type, k.inputs) for k in kernels)
    self.assertIn(("Conv2D", ((2, 8, 8, 3), (3, 3, 3, 5))), found)
    self.assertIn(("Conv2DBackpropFilter",
                   ((2, 8, 8, 3), ("shape", 3, 3, 3, 5), (2, 8, 8, 5))),
                  found)
    self.assertIn(("MatMul", ((2, 5), (5, 7))), found)
    rows = {r["kernel"].op_type: r
            for r in roofline.measure(kernels, repeats=1)}
    # Closed form: 2 FLOPs per multiply-add.
    self.assertEqual(rows["Conv2D"]["flops"], 2 * 2 * 8 * 8 * 9 * 3 * 5)
    self.assertEqual(rows["Conv2DBackpropFilter"]["flops"],
                     2 * 2 * 8 * 8 * 9 * 3 * 5)
    self.assertGreater(rows["Conv2D"]["seconds"], 0)

  def testRooflineScript_OneJsonLine(self):
    report = run_bench("roofline.py", "--arch=gfmn", "--width=4",
                       "--features=classifier", "--batch_size=4",
                       "--repeats=1")
    self.assertEqual(report["bench"], "roofline")
    self.assertGreater(report["kernel_gflop"], 0)
    self.assertAlmostEqual(sum(k["share_of_time"]
                               for k in report["by_kind"].values()), 1.0,
                           delta=0.01)

  def testFidNoise_BothSplitsEveryLatentSeedAgainstTheEvaluator(self):
    workdir = os.path.join(testutil.shared_dir("bench_fid_noise"), "run")
    config = testutil.tiny_config(workdir, train_steps=2)
    if not os.path.exists(os.path.join(workdir, "result.json")):
      from slt_tf import train_lib  # pylint: disable=g-import-not-at-top
      train_lib.run(config)
    report = run_bench("fid_noise.py", f"--workdir={workdir}", "--seeds=2",
                       "--eval_samples=20")
    self.assertEqual((report["selection"]["split"], report["report"]["split"]),
                     ("test[:50%]", "test[50%:]"))
    self.assertLen(report["report"]["fids"], 2)
    self.assertNotEqual(*report["report"]["fids"])
    from slt_tf import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
    self.assertEqual(report["checkpoint"],
                     workdir_lib.resolve_checkpoint(workdir, "latest"))
    # Seed 0 on the report split is what evaluate reports.
    from slt_tf.evaluation import evaluator as evaluator_lib  # pylint: disable=g-import-not-at-top
    plain = evaluator_lib.evaluate_workdir(
        workdir, settings=evaluator_lib.EvalSettings(20),
        cache_dir=config.data.cache_dir)
    self.assertAllClose(report["report"]["fids"][0],
                        plain["metrics"]["fid_digits_20"], rtol=1e-5)
    self.assertIn("cpu", report["machine"])

  def testMaskOverhead_Runs(self):
    report = run_bench("mask_overhead.py", "--batch_size=2", "--width=16",
                       "--repeats=1")
    self.assertGreater(report["ticket_over_dense"], 0)
