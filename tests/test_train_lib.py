"""The search loop in-process: one-step runs on the embedded digits.

Feature nets are the small digits classifier and real statistics use 256
images, so each run takes seconds; everything else is the real code path.
"""

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from unittest import mock
import urllib.request

import numpy as np
from tensorboard.backend.event_processing import event_accumulator
import tensorflow as tf

from slt_tf import errors
from slt_tf import generators
from slt_tf.generators import TicketOptions
from slt_tf.search import losses
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil


checkpoint_tensors = testutil.checkpoint_tensors
masked_arrays = testutil.masked_arrays


class SearchTest(tf.test.TestCase):

  def testTicketSearch_ScoresMoveKernelsBitIdenticalOutputsWritten(self):
    config = testutil.tiny_config(self.get_temp_dir() + "/run")
    result = train_lib.run(config, "--flag=value\n")
    self.assertEqual(result["step"], 4)
    self.assertTrue(np.isfinite(result["metrics"]["loss"]))

    fresh = generators.build(config.model.arch, **config.generator_kwargs())
    found = workdir_lib.restore_generator(config)
    kernels, fresh_kernels = (masked_arrays(found, "kernel"),
                              masked_arrays(fresh, "kernel"))
    scores, fresh_scores = (masked_arrays(found, "scores"),
                            masked_arrays(fresh, "scores"))
    self.assertLen(kernels, 11)
    self.assertCountEqual(scores, kernels)
    for path, kernel in kernels.items():
      # Frozen kernels are bit-identical to a fresh draw; every score moved.
      self.assertAllEqual(kernel, fresh_kernels[path], msg=path)
      self.assertNotAllClose(scores[path], fresh_scores[path], msg=path)

    workdir = config.workdir
    self.assertEqual(open(os.path.join(workdir, "flags.txt")).read(),
                     "--flag=value\n")
    self.assertEqual(json.load(open(os.path.join(workdir, "config.json"))),
                     json.loads(config.to_json()))
    for step in (2, 4):
      self.assertTrue(os.path.exists(
          os.path.join(workdir, "samples", f"step_{step:07d}.png")))
    events = event_accumulator.EventAccumulator(
        os.path.join(workdir, "tensorboard", "search"),
        size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    tags = set(events.Tags()["tensors"])
    for tag in ("loss/loss", "loss/loss_mean", "loss/loss_var",
                "loss/mean_mse", "loss/var_mse", "learning_rate",
                "steps_per_second", "kept_fraction/total", "mask_flip_rate",
                "samples"):
      self.assertIn(tag, tags)
    self.assertTrue(any(t.startswith("scores/") for t in tags))
    kept = tf.make_ndarray(events.Tensors("kept_fraction/total")[-1].tensor_proto)
    self.assertAllClose(kept, 0.1, atol=0.01)

  def testDenseMode_TrainsKernelsAndHasNoScores(self):
    config = testutil.tiny_config(
        self.get_temp_dir() + "/dense", train_steps=2,
        method="dense", ticket=TicketOptions(seed=1))
    train_lib.run(config)
    fresh = generators.build(config.model.arch, **config.generator_kwargs())
    trained = workdir_lib.restore_generator(config)
    self.assertEmpty(masked_arrays(trained, "scores"))
    kernels = masked_arrays(trained, "kernel")
    fresh_kernels = masked_arrays(fresh, "kernel")
    self.assertLen(kernels, 11)
    for path, kernel in kernels.items():
      self.assertNotAllClose(kernel, fresh_kernels[path], msg=path)

  def testResume_SecondRunContinuesAndEqualsOneLongRun(self):
    base = self.get_temp_dir()
    straight = testutil.tiny_config(base + "/straight", train_steps=6,
                                    checkpoint_every=3)
    train_lib.run(straight)
    split = straight.replace(workdir=base + "/split",
                                train_steps=3)
    self.assertEqual(train_lib.run(split)["steps_this_run"], 3)
    resumed = train_lib.run(split.replace(train_steps=6))
    self.assertEqual((resumed["step"], resumed["steps_this_run"]), (6, 3))
    a, b = checkpoint_tensors(straight.workdir), checkpoint_tensors(
        base + "/split")
    self.assertCountEqual(a, b)
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)

  def testCosineCycle_TheAuthorsRatesLoggedAndResumedBitIdentical(self):
    """The authors' schedule (PyTorch CosineAnnealingLR(T_max=10) stepped
    every iteration): step s (from 1) runs at lr (1 + cos(pi (s-1) / 10)) / 2,
    the scores' and the moving averages' alike; a resumed run ends where an
    uninterrupted one does."""
    base = self.get_temp_dir()
    straight = testutil.tiny_config(base + "/cycle", train_steps=12,
                                    checkpoint_every=4, log_every=1,
                                    lr_schedule="cosine_cycle")
    train_lib.run(straight)
    events = event_accumulator.EventAccumulator(
        os.path.join(straight.workdir, "tensorboard", "search"),
        size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    logged = {e.step: float(tf.make_ndarray(e.tensor_proto))
              for e in events.Tensors("learning_rate")}
    steps = sorted(logged)
    self.assertEqual(steps, list(range(1, 13)))
    expected = [straight.optim.learning_rate * (1 + np.cos(np.pi * (s - 1) / 10)) / 2
                for s in steps]
    self.assertAllClose([logged[s] for s in steps], expected, rtol=1e-5,
                        atol=1e-12)
    self.assertLess(logged[11], 1e-9 * straight.optim.learning_rate + 1e-12)
    split = straight.replace(workdir=base + "/split",
                                train_steps=8)
    train_lib.run(split)
    train_lib.run(split.replace(train_steps=12))
    a, b = checkpoint_tensors(straight.workdir), checkpoint_tensors(
        split.workdir)
    self.assertCountEqual(a, b)
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)
    constant = testutil.tiny_config(base + "/constant", train_steps=12,
                                    checkpoint_every=4)
    train_lib.run(constant)
    c = checkpoint_tensors(constant.workdir)
    self.assertTrue(any(np.any(a[n] != c[n]) for n in a if "ama" in n))

  def testRelativeWorkdir_Resumes(self):
    """The README's commands pass relative workdirs (regression: a rerun
    found no readable checkpoint)."""
    cwd = os.getcwd()
    os.chdir(self.get_temp_dir())
    try:
      config = testutil.tiny_config("relative/run", train_steps=2)
      train_lib.run(config)
      resumed = train_lib.run(config.replace(train_steps=3))
    finally:
      os.chdir(cwd)
    self.assertEqual((resumed["step"], resumed["steps_this_run"]), (3, 1))

  def testWorkdirOfAnotherConfiguration_RefusedBeforeAnyWork(self):
    config = testutil.tiny_config(self.get_temp_dir() + "/w", train_steps=1)
    train_lib.run(config)
    other = config.replace(ticket=TicketOptions(keep_ratio=0.3, seed=1))
    with self.assertRaisesRegex(errors.RunError,
                                "^workdir: .*keep_ratio.*0.1.*0.3"):
      train_lib.run(other)

  def testGlobalMaskScope_KeepsTheGlobalFraction(self):
    config = testutil.tiny_config(
        self.get_temp_dir() + "/global", train_steps=2,
        ticket=TicketOptions(mask_scope="global", seed=1))
    result = train_lib.run(config)
    self.assertTrue(np.isfinite(result["metrics"]["loss"]))
    thresholds = masked_arrays(workdir_lib.restore_generator(config),
                               "score_threshold")
    self.assertLen(thresholds, 11)
    values = {float(v) for v in thresholds.values()}
    self.assertLen(values, 1)  # One shared threshold...
    self.assertGreater(values.pop(), 0)  # ... that was actually set.


class DivergenceTest(tf.test.TestCase):

  def testNonFiniteLoss_StopsNamingTheStepAndNeverCheckpointsIt(self):
    """Divergence is simulated (the loss turns NaN from step 4 on): BN and tanh
    keep real generators finite for any learning rate, so no flag setting
    diverges reliably."""
    real_call = losses.MomentMatching.__call__

    def diverging(objective, features):
      loss, metrics = real_call(objective, features)
      nan = tf.where(objective.ama_mean.t >= 4, np.nan, 1.0)
      return loss * nan, metrics

    config = testutil.tiny_config(self.get_temp_dir() + "/nan",
                                  train_steps=10, checkpoint_every=1,
                                  log_every=100)
    with mock.patch.object(losses.MomentMatching, "__call__", diverging):
      with self.assertRaisesRegex(FloatingPointError,
                                  r"non-finite loss nan at step 4; stopped "
                                  r"without saving it; the last good "
                                  r"checkpoint is .*ckpt-3"):
        train_lib.run(config)
    self.assertEqual(
        os.path.basename(tf.train.latest_checkpoint(
            os.path.join(config.workdir, "checkpoints"))), "ckpt-3")


class TensorBoardServerTest(tf.test.TestCase):

  def testRealServerOnLocalhost_ServesTheSearchSummaries(self):
    config = testutil.tiny_config(self.get_temp_dir() + "/tb", train_steps=2)
    train_lib.run(config)
    logdir = os.path.join(config.workdir, "tensorboard")
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", f"--logdir={logdir}", "--host=127.0.0.1", "--port=0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
      url, deadline = None, time.time() + 120
      while url is None and time.time() < deadline:
        line = server.stdout.readline()
        self.assertTrue(line or server.poll() is None, "tensorboard exited")
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        url = match.group(1) if match else None
      self.assertIsNotNone(url, "tensorboard never printed its address")

      def tags(plugin):
        for _ in range(100):  # The first scan of the logdir takes a moment.
          with urllib.request.urlopen(f"{url}/data/plugin/{plugin}/tags",
                                      timeout=30) as response:
            runs = json.load(response)
          if runs:
            # The search's summaries are the run named "search", not ".".
            self.assertEqual(set(runs), {"search"})
            return set(runs["search"])
          time.sleep(0.2)
        return set()

      scalars = tags("scalars")
      for tag in ("loss/loss", "loss/mean_mse", "learning_rate",
                  "steps_per_second", "kept_fraction/total",
                  "mask_flip_rate"):
        self.assertIn(tag, scalars)
      self.assertEqual(tags("images"), {"samples"})
      self.assertTrue(any(t.startswith("scores/") for t in
                          tags("histograms")))
    finally:
      server.terminate()
      server.wait(timeout=30)


class ReplicaTest(tf.test.TestCase):

  def testTwoCpuReplicas_SameSearchAsOneDevice(self):
    base = self.get_temp_dir()
    one = testutil.tiny_config(base + "/one", train_steps=2)
    two = one.replace(workdir=base + "/two", strategy="mirrored",
                              cpu_replicas=2)
    result_one = train_lib.run(one)
    result_two = train_lib.run(two)
    self.assertEqual(result_two["step"], 2)
    # The loss is that of the global batch's moments on both.
    for name, value in result_one["metrics"].items():
      self.assertAllClose(result_two["metrics"][name], value, rtol=1e-4,
                          msg=name)
    self.assertLess(
        testutil.score_disagreement(one.workdir, two.workdir), 0.01)
    stats_one = workdir_lib.restore_generator(one).non_trainable_weights
    stats_two = workdir_lib.restore_generator(two).non_trainable_weights
    for u, v in zip(stats_one, stats_two):
      if "moving" in u.path:  # Synchronised batch-norm statistics.
        self.assertAllClose(u.numpy(), v.numpy(), rtol=1e-3, atol=1e-5,
                            msg=u.path)

class PrecisionAndXlaTest(tf.test.TestCase):

  def testMixedPrecision_CheckpointsFloat32_ResumeAcrossPrecisions(self):
    base = testutil.tiny_config(self.get_temp_dir() + "/p", train_steps=2,
                                precision="bfloat16", eval_every=2,
                                eval_samples=32)
    self.assertEqual(train_lib.run(base)["step"], 2)
    # The keeper scored the float32 twin: a finite FID, a kept checkpoint.
    best = json.load(open(workdir_lib.best_record_path(base.workdir)))
    self.assertTrue(np.isfinite(best["value"]))
    scores_at_2 = masked_arrays(workdir_lib.restore_generator(base),
                                "scores")
    for precision, steps in (("float16", 4), ("float32", 6)):
      config = base.replace(precision=precision,
                                   train_steps=steps, eval_every=0)
      result = train_lib.run(config)
      self.assertEqual(result["step"], steps)
      self.assertTrue(np.isfinite(result["metrics"]["loss"]), precision)
    found = workdir_lib.restore_generator(config)
    self.assertEqual(found.dtype_policy.name, "float32")
    self.assertEqual(found(tf.zeros([2, config.model.latent_size])).dtype,
                     tf.float32)
    moved = masked_arrays(found, "scores")
    self.assertTrue(any(np.any(moved[k] != scores_at_2[k]) for k in moved))
    # The export of a mixed-precision search serves float32 latents and
    # uint8 images of the float32 network.
    export_dir = self.get_temp_dir() + "/models"
    exported = testutil.run_module(
        "slt_tf.export", f"--workdir={base.workdir}", "--checkpoint=latest",
        f"--export_dir={export_dir}", "--model_name=p")
    self.assertEqual(exported.returncode, 0, exported.stderr[-3000:])
    serve = tf.saved_model.load(export_dir + "/p/1").signatures[
        "serving_default"]
    self.assertEqual(serve.structured_input_signature[1]["z"].dtype,
                     tf.float32)
    z = np.random.default_rng(0).normal(
        size=(2, config.model.latent_size)).astype(np.float32)
    images = serve(z=tf.constant(z))["images"]
    self.assertEqual(images.dtype, tf.uint8)
    expected = np.clip(np.round((found(z, training=False).numpy() + 1)
                                * 127.5), 0, 255).astype(np.uint8)
    self.assertAllEqual(images, expected)

  def testJitCompile_OneDevice_TheSameSearch(self):
    base = self.get_temp_dir()
    plain = testutil.tiny_config(base + "/plain", train_steps=3)
    jit = plain.replace(workdir=base + "/jit", jit_compile=True)
    result_plain, result_jit = train_lib.run(plain), train_lib.run(jit)
    for name, value in result_plain["metrics"].items():
      self.assertAllClose(result_jit["metrics"][name], value, rtol=1e-3,
                          msg=name)
    self.assertLess(
        testutil.score_disagreement(plain.workdir, jit.workdir), 0.01)

  def testJitCompile_CpuReplicas_OneLineErrorNamingTheFlag(self):
    config = testutil.tiny_config(self.get_temp_dir() + "/r",
                                  strategy="mirrored", cpu_replicas=2,
                                  jit_compile=True)
    with self.assertRaisesRegex(errors.RunError,
                                r"^jit_compile: .*logical CPU devices"):
      train_lib.run(config)
    self.assertFalse(os.path.exists(
        workdir_lib.checkpoint_dir(config.workdir)))


if __name__ == "__main__":
  tf.test.main()
