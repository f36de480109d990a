"""A run's directory: writing the configuration, refusing what cannot work,
resolving and restoring checkpoints."""

import json
import os
import socket
import stat
import subprocess
import sys

import tensorflow as tf

from slt_tf import errors
from slt_tf.errors import RunError
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil


class PrepareTest(tf.test.TestCase):

  def testFreshWorkdir_ConfigAndFlagsWritten(self):
    config = testutil.tiny_config(os.path.join(self.get_temp_dir(), "new"))
    self.assertFalse(workdir_lib.prepare(config, "--a=1\n"))
    self.assertEqual(json.load(open(workdir_lib.config_path(config.workdir))),
                     json.loads(config.to_json()))
    self.assertTrue(workdir_lib.prepare(config, ""))  # Reused now.
    self.assertEqual(workdir_lib.read_config(config.workdir), config)

  def testUnwritableWorkdir_OneLineErrorNamingIt(self):
    if os.geteuid() == 0:
      # root writes through permission bits; a path under a regular file
      # fails for everyone.
      blocker = os.path.join(self.get_temp_dir(), "file")
      open(blocker, "w").close()
      target = os.path.join(blocker, "run")
    else:
      parent = os.path.join(self.get_temp_dir(), "ro")
      os.makedirs(parent)
      os.chmod(parent, stat.S_IRUSR | stat.S_IXUSR)
      target = os.path.join(parent, "run")
    config = testutil.tiny_config(target)
    with self.assertRaisesRegex(errors.RunError,
                                r"^workdir: cannot write to .*run \("):
      workdir_lib.prepare(config, "")

  def testUnwritableWorkdir_TrainCliSaysSoInOneLine(self):
    blocker = os.path.join(self.get_temp_dir(), "file")
    open(blocker, "w").close()
    result = testutil.run_module(
        "slt_tf.train", "--flagfile=configs/demo.cfg",
        f"--workdir={blocker}/run", f"--data_dir={testutil.data_dir()}",
        f"--cache_dir={testutil.cache_dir()}", "--width=4",
        "--max_real_images=256", "--batch_size=8", "--train_steps=1",
        "--eval_every=0")
    self.assertNotEqual(result.returncode, 0)
    last = result.stderr.strip().splitlines()[-1]
    self.assertRegex(last, r"^error: --workdir: cannot write to .*/run ")
    self.assertNotIn("Traceback", result.stderr)


class LockTest(tf.test.TestCase):

  def testSecondWriter_RefusedNamingTheHolder_FreedOnExit(self):
    workdir = os.path.join(self.get_temp_dir(), "locked")
    with workdir_lib.WorkdirLock(workdir, "a test search"):
      with self.assertRaisesRegex(
          RunError, rf"^workdir: {workdir} is in use by pid {os.getpid()} on "
          rf"{socket.gethostname()} \(a test search since .*\)"):
        with workdir_lib.WorkdirLock(workdir, "another"):
          pass
    with workdir_lib.WorkdirLock(workdir, "the next"):  # Free again.
      pass

  def testHolderKilled_LockFreedWithoutCleanup(self):
    """SIGKILL leaves no stale lock: the kernel drops a dead process's flock."""
    workdir = os.path.join(self.get_temp_dir(), "killed")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from slt_tf import workdir\n"
         f"lock = workdir.WorkdirLock({workdir!r}, 'holder').__enter__()\n"
         "print('held', flush=True)\n"
         "time.sleep(600)\n"], stdout=subprocess.PIPE, text=True,
        cwd=testutil.REPO)
    try:
      self.assertEqual(holder.stdout.readline().strip(), "held")
      with self.assertRaisesRegex(RunError, f"in use by pid {holder.pid} "):
        with workdir_lib.WorkdirLock(workdir, "me"):
          pass
    finally:
      holder.kill()
      holder.wait()
    with workdir_lib.WorkdirLock(workdir, "me"):
      pass


class CheckpointTest(tf.test.TestCase):

  def testLatestBestAndPrefix_ResolveOrFailNamingTheFlag(self):
    config = testutil.tiny_config(os.path.join(self.get_temp_dir(), "run"),
                                  train_steps=3, sample_every=2)
    with self.assertRaisesRegex(errors.RunError, "^workdir: no checkpoint"):
      workdir_lib.resolve_checkpoint(config.workdir, "latest")
    train_lib.run(config)
    latest = workdir_lib.resolve_checkpoint(config.workdir, None)
    self.assertEqual(workdir_lib.checkpoint_step(latest), 3)
    self.assertEqual(workdir_lib.resolve_checkpoint(config.workdir, latest),
                     latest)
    with self.assertRaisesRegex(errors.RunError, "^checkpoint: .*best.json"):
      workdir_lib.resolve_checkpoint(config.workdir, "best")
    with self.assertRaisesRegex(errors.RunError, "^checkpoint: .* prefix"):
      workdir_lib.resolve_checkpoint(config.workdir, latest + "x")
    # 3 steps with a grid every 2: the last step still writes its grid.
    samples = sorted(os.listdir(os.path.join(config.workdir, "samples")))
    self.assertEqual(samples, ["step_0000002.png", "step_0000003.png"])
    restored = workdir_lib.restore_generator(
        workdir_lib.read_config(config.workdir))
    self.assertNotEmpty(restored.trainable_variables)


if __name__ == "__main__":
  tf.test.main()
