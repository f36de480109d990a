"""End-to-end tests of ``python -m slt_tf.train`` (real subprocesses, real files)."""

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from absl.testing import parameterized
import tensorflow as tf

import testutil

REPO = testutil.REPO


def run_train(*args, cwd=REPO):
  return testutil.run_module("slt_tf.train", *args, cwd=cwd)


def tiny_flags(workdir, *extra):
  """The demo flagfile shrunk to seconds: width 4, 256 real images, batch 8,
  no evaluations during the search."""
  return ("--flagfile=configs/demo.cfg", f"--workdir={workdir}", "--width=4",
          "--grid_size=6", "--max_real_images=256", "--batch_size=8",
          "--log_every=2", "--sample_every=2", "--checkpoint_every=2",
          "--eval_every=0", "--eval_bn_batches=0",
          f"--data_dir={testutil.data_dir()}",
          f"--cache_dir={testutil.cache_dir()}", *extra)


@functools.lru_cache(maxsize=None)
def uninterrupted_four_steps() -> str:
  """The workdir of an uninterrupted 4-step search (``tiny_flags``), run once
  per process for the tests that compare with it; they only read it."""
  workdir = os.path.join(testutil.shared_dir("train_cli"), "four_steps")
  result = run_train(*tiny_flags(workdir, "--train_steps=4"))
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def checkpoint_values(workdir):
  path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
  reader = tf.train.load_checkpoint(path)
  return path, {name: reader.get_tensor(name)
                for name in reader.get_variable_to_shape_map()
                if not name.startswith(("_CHECKPOINTABLE", "save_counter"))}


def start_workers(flags, count=2):
  """``count`` train processes forming one MultiWorkerMirroredStrategy
  cluster on free 127.0.0.1 ports (worker 0 is the chief); stderr is piped."""
  ports = []
  for _ in range(count):
    with socket.socket() as s:
      s.bind(("127.0.0.1", 0))
      ports.append(s.getsockname()[1])
  cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
  workers = []
  for index in range(count):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="",
               TF_CONFIG=json.dumps({"cluster": cluster, "task": {
                   "type": "worker", "index": index}}))
    workers.append(subprocess.Popen(
        [sys.executable, "-m", "slt_tf.train", *flags], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
  return workers


class TrainEntryPointTest(tf.test.TestCase, parameterized.TestCase):

  def testDemoFlagfile_SearchesThenResumesWithMoreSteps(self):
    workdir = os.path.join(self.get_temp_dir(), "demo")
    result = run_train(*tiny_flags(workdir, "--train_steps=2", "--seed=3"))
    self.assertEqual(result.returncode, 0, result.stderr)
    config = json.load(open(os.path.join(workdir, "config.json")))
    self.assertEqual((config["arch"], config["resolution"], config["width"],
                      config["ticket"]["seed"], config["ticket"]["keep_ratio"],
                      config["features"], config["dataset"]),
                     ("gfmn", 32, 4, 3, 0.1, "classifier", "mnist_embedded"))
    flags_text = open(os.path.join(workdir, "flags.txt")).read()
    self.assertIn("--width=4", flags_text)
    self.assertIn("--keep_ratio=0.1", flags_text)
    self.assertIn("features: classifier", result.stderr)
    self.assertIn("step 2/2", result.stderr)
    grid = tf.io.decode_png(open(os.path.join(
        workdir, "samples", "step_0000002.png"), "rb").read()).numpy()
    # 6 images of 32 px tile as 3 columns x 2 rows with 2 px padding; the
    # digits are gray, and so are the grid's images.
    self.assertEqual(grid.shape, (2 * 34 + 2, 3 * 34 + 2, 1))
    self.assertGreater(grid.std(), 0)

    result = run_train(*tiny_flags(workdir, "--train_steps=4", "--seed=3"))
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertRegex(result.stderr, r"resuming from .*ckpt-2 at step 2")
    summary = json.load(open(os.path.join(workdir, "result.json")))
    self.assertEqual((summary["step"], summary["steps_this_run"]), (4, 2))

  def testKilledAnyTimeAndRestarted_BitIdenticalToUninterrupted(self):
    base = self.get_temp_dir()
    straight = os.path.join(base, "straight")
    result = run_train(*tiny_flags(straight, "--train_steps=10"))
    self.assertEqual(result.returncode, 0, result.stderr)

    killed = os.path.join(base, "killed")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    process = subprocess.Popen(
        [sys.executable, "-m", "slt_tf.train",
         *tiny_flags(killed, "--train_steps=10")], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = os.path.join(killed, "checkpoints", "ckpt-4.index")
    deadline = time.time() + 240
    while not os.path.exists(index) and process.poll() is None:
      self.assertLess(time.time(), deadline)
      time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # Mid-run, no chance to clean up.
    process.wait()
    self.assertEqual(process.returncode, -signal.SIGKILL)
    result = run_train(*tiny_flags(killed, "--train_steps=10"))
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn("resuming from", result.stderr)

    path_a, a = checkpoint_values(straight)
    path_b, b = checkpoint_values(killed)
    self.assertEqual(os.path.basename(path_a), os.path.basename(path_b))
    self.assertCountEqual(a, b)
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)

  def testTwoWorkersOnLocalhost_SameSearchAsOneProcess(self):
    """MultiWorkerMirroredStrategy: two real worker processes over gRPC."""
    base = self.get_temp_dir()
    single = uninterrupted_four_steps()
    multi = os.path.join(base, "multi")
    workers = start_workers(
        tiny_flags(multi, "--train_steps=4", "--strategy=multi_worker"))
    try:
      errors = [w.communicate(timeout=240)[1] for w in workers]
    finally:
      for w in workers:
        w.kill()
    for w, err in zip(workers, errors):
      self.assertEqual(w.returncode, 0, err[-3000:])
    self.assertIn("2 replica(s), global batch 8", errors[0])
    # The chief (worker 0) writes the run; the other worker's scratch is gone.
    self.assertCountEqual(
        os.listdir(multi), [".lock", "checkpoints", "config.json", "flags.txt",
                            "result.json", "samples", "tensorboard"])
    one = json.load(open(os.path.join(single, "result.json")))["metrics"]
    two = json.load(open(os.path.join(multi, "result.json")))["metrics"]
    for name, value in one.items():
      self.assertAllClose(two[name], value, rtol=1e-4, msg=name)
    self.assertLess(testutil.score_disagreement(single, multi), 0.01)

  @parameterized.parameters(signal.SIGTERM, signal.SIGINT)
  def testSigtermOrCtrlC_CheckpointsTheCurrentStepThenResumes(self, signum):
    name = signal.Signals(signum).name
    workdir = os.path.join(self.get_temp_dir(), name)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    process = subprocess.Popen(
        [sys.executable, "-m", "slt_tf.train",
         *tiny_flags(workdir, "--train_steps=100000",
                     "--checkpoint_every=100000", "--sample_every=100000")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    lines = []
    for line in process.stderr:  # Wait until the search is stepping.
      lines.append(line)
      if "step 4/100000" in line:
        break
    process.send_signal(signum)
    _, rest = process.communicate(timeout=120)
    log = "".join(lines) + rest
    self.assertEqual(process.returncode, 128 + signum, log[-2000:])
    step = int(re.search(rf"stopped by {name} at step (\d+)", log).group(1))
    self.assertGreaterEqual(step, 4)
    path, _ = checkpoint_values(workdir)
    self.assertEqual(os.path.basename(path), f"ckpt-{step}")
    summary = json.load(open(os.path.join(workdir, "result.json")))
    self.assertEqual((summary["step"], summary["stopped_by"]), (step, name))
    result = run_train(*tiny_flags(workdir, f"--train_steps={step + 2}",
                                   "--checkpoint_every=100000",
                                   "--sample_every=100000"))
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertIn(f"at step {step}", result.stderr)

  def testCorruptedNewestCheckpoint_WarnsAndResumesFromThePrevious(self):
    straight = uninterrupted_four_steps()
    corrupted = os.path.join(self.get_temp_dir(), "corrupted")
    result = run_train(*tiny_flags(corrupted, "--train_steps=4"))
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    data_file = os.path.join(corrupted, "checkpoints",
                             "ckpt-4.data-00000-of-00001")
    with open(data_file, "r+b") as f:
      f.truncate(os.path.getsize(data_file) // 2)
    result = run_train(*tiny_flags(corrupted, "--train_steps=4"))
    self.assertEqual(result.returncode, 0, result.stderr[-2000:])
    self.assertRegex(result.stderr, r"checkpoint .*ckpt-4 is unreadable")
    self.assertRegex(result.stderr, r"resuming from .*ckpt-2 at step 2")
    _, a = checkpoint_values(straight)
    _, b = checkpoint_values(corrupted)
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)

  def testOneWorkerKilled_TheOtherFailsCleanlyWithinTheTimeout(self):
    """MultiWorkerMirroredStrategy: SIGKILL one of two real workers mid-run."""
    workdir = os.path.join(self.get_temp_dir(), "lost")
    workers = start_workers(tiny_flags(
        workdir, "--train_steps=100000", "--strategy=multi_worker",
        "--collective_timeout_s=30", "--sample_every=100000"))
    try:
      for line in workers[0].stderr:  # Until both are stepping together.
        if "step 6/100000" in line:
          break
      workers[1].kill()
      start = time.time()
      _, err = workers[0].communicate(timeout=180)
      elapsed = time.time() - start
    finally:
      for w in workers:
        w.kill()
        w.wait()
    self.assertNotEqual(workers[0].returncode, 0)
    self.assertLess(elapsed, 120)
    last = err.strip().splitlines()[-1]
    self.assertRegex(last, r"^error: step \d+ failed because another worker "
                     r"died or stopped answering .*restart every worker")

  def testSecondWriterOnOneWorkdir_RefusedAtOnceChangingNothing(self):
    workdir = os.path.join(self.get_temp_dir(), "shared")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    first = subprocess.Popen(
        [sys.executable, "-m", "slt_tf.train",
         *tiny_flags(workdir, "--train_steps=100000", "--log_every=1")],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
      for line in first.stderr:  # Wait until it is stepping.
        if "step 2/" in line:
          break
      snapshot = lambda: sorted(
          (os.path.relpath(os.path.join(r, n), workdir))
          for r, _, names in os.walk(workdir) for n in names
          if not n.startswith(("events.", "step_")) and "checkpoint" not in r)
      before = snapshot()
      config_mtime = os.path.getmtime(os.path.join(workdir, "config.json"))
      for module, args in (("slt_tf.train", tiny_flags(workdir)),
                           ("slt_tf.evaluate", (f"--workdir={workdir}",))):
        second = testutil.run_module(module, *args)
        self.assertNotEqual(second.returncode, 0, module)
        last = second.stderr.strip().splitlines()[-1]
        self.assertRegex(last, rf"^error: --workdir: {workdir} is in use by "
                         rf"pid {first.pid} on ")
        self.assertNotIn("Traceback", second.stderr)
      self.assertEqual(snapshot(), before)
      self.assertEqual(os.path.getmtime(os.path.join(workdir, "config.json")),
                       config_mtime)
      self.assertIsNone(first.poll())  # The first writer never noticed.
    finally:
      first.kill()
      first.wait()
    # Killed, it holds nothing: the same command resumes.
    again = run_train(*tiny_flags(workdir, "--train_steps=4"))
    self.assertEqual(again.returncode, 0, again.stderr[-2000:])

  def testBadFlags_OneLineErrorNonZeroExitNoOutput(self):
    cases = (
        ("--keep_ratio=0", "--keep_ratio"), ("--keep_ratio=1.5", "--keep_ratio"),
        ("--arch=dcgan", "--arch"), ("--resolution=48", "--resolution"),
        ("--method=sparse", "--method"), ("--num_classes=3", "--num_classes"),
        ("--batch_size=1", "--batch_size"), ("--train_steps=0",
                                             "--train_steps"),
        ("--features=alexnet", "--features"), ("--feature_bn=none",
                                               "--feature_bn"),
        ("--lr_schedule=step", "--lr_schedule"), ("--strategy=tpu",
                                                  "--strategy"),
        ("--learning_rate=-1", "--learning_rate"), ("--beta1=1", "--beta1"),
        ("--cpu_replicas=2", "--cpu_replicas"),
        ("--dataset=folder:/nonexistent/dir", "--dataset"),
        ("--flagfile=/nonexistent/more.cfg",
         "flagfile: [Errno 2] No such file"),
        ("--dataset=no_such_dataset_xyz", "--dataset"),
        ("--features=vgg19_bn", "--feature_weights"),
        ("--feature_weights=/nonexistent/w.npz", "--feature_weights"))
    workdir = os.path.join(self.get_temp_dir(), "bad")
    results = testutil.entry_cases("slt_tf.train", [
        ("--flagfile=configs/demo.cfg", f"--workdir={workdir}",
         f"--data_dir={testutil.data_dir()}", flag) for flag, _ in cases])
    for (flag, name), result in zip(cases, results):
      self.assertNotEqual(result["status"], 0, flag)
      self.assertIsNone(result["traceback"], flag)
      last = result["stderr"].strip().splitlines()[-1]
      self.assertRegex(last, "^error: ", flag)
      self.assertIn(name, last, flag)
      self.assertFalse(os.path.exists(workdir), flag)

  def testPaperConfigs_ValidFlagsThenClearMissingDatasetError(self):
    workdir = os.path.join(self.get_temp_dir(), "paper")
    results = testutil.entry_cases("slt_tf.train", [
        (f"--flagfile=configs/{name}", f"--workdir={workdir}",
         f"--data_dir={self.get_temp_dir()}")
        for name in ("gfmn.cfg", "sngan.cfg", "bigGAN.cfg")])
    for result in results:
      self.assertNotEqual(result["status"], 0)
      self.assertIsNone(result["traceback"])
      last = result["stderr"].strip().splitlines()[-1]
      self.assertRegex(last, r"^error: --dataset '(celeb_a|lsun/bedroom)' is "
                       r"not prepared .*tfds build")
      self.assertFalse(os.path.exists(workdir))

  def testBadFlagInARealProcess_ExitStatusAndOneLine(self):
    """The in-process cases above share one interpreter; this one is a real
    ``python -m`` exit: status 1, the message last, no traceback."""
    workdir = os.path.join(self.get_temp_dir(), "bad")
    result = run_train("--flagfile=configs/demo.cfg", f"--workdir={workdir}",
                       "--keep_ratio=0")
    self.assertEqual(result.returncode, 1)
    self.assertRegex(result.stderr.strip().splitlines()[-1],
                     "^error: --keep_ratio")
    self.assertNotIn("Traceback", result.stderr)
    self.assertFalse(os.path.exists(workdir))

  def testMissingFlagfile_FailsNamingIt(self):
    result = run_train("--flagfile=configs/nope.cfg", "--workdir=/tmp/x")
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("nope.cfg", result.stderr)


if __name__ == "__main__":
  tf.test.main()
