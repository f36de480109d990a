"""A full disk: on a small tmpfs made for the test, a checkpoint, an export,
a compact ticket and an evaluation that run out of space fail with one line
naming the path and the errno, leave what was there before usable, and the
search resumes once space is back. Skipped where the machine cannot mount a
tmpfs (it needs root, or CAP_SYS_ADMIN)."""

import dataclasses
import os
import subprocess
import tempfile

import tensorflow as tf

from slt_tf.errors import RunError
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.export import compact
from slt_tf.export import saved_model
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil

SIZE_MB = 8


def mount_tmpfs(path: str) -> bool:
  os.makedirs(path, exist_ok=True)
  result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m",
                           "tmpfs", path], capture_output=True, check=False)
  return result.returncode == 0


def fill(directory: str, leave: int) -> str:
  """Fills the filesystem of ``directory`` but for ``leave`` bytes."""
  path = tempfile.mktemp(dir=directory, prefix="filler")
  with open(path, "wb", buffering=0) as f:
    try:
      while True:
        f.write(b"\0" * (1 << 16))
    except OSError:
      pass
  os.truncate(path, max(0, os.path.getsize(path) - leave))
  return path


class FullDiskTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.disk = tempfile.mkdtemp(prefix="slt_tf_disk_")
    if not mount_tmpfs(self.disk):
      os.rmdir(self.disk)
      self.skipTest("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)")
    self.addCleanup(lambda: (subprocess.run(["umount", self.disk],
                                            check=False),
                             os.rmdir(self.disk)))

  def testCheckpoint_OneLineErrorPreviousIntactThenResumes(self):
    config = testutil.tiny_config(os.path.join(self.disk, "w"),
                                  train_steps=2, keep_checkpoints=1)
    train_lib.run(config)
    filler = fill(self.disk, leave=100_000)  # Less than one checkpoint.
    more = config.replace(train_steps=4)
    with self.assertRaisesRegex(
        RunError, r"^workdir: cannot write /\S+ \(errno 28, No space left on "
        r"device\); the last checkpoint \(\S+ckpt-2\) is intact"):
      train_lib.run(more)
    directory = workdir_lib.checkpoint_dir(config.workdir)
    self.assertEqual(tf.io.gfile.glob(os.path.join(directory, "*_temp")), [])
    workdir_lib.restore_generator(config)  # ckpt-2 still restores.
    os.remove(filler)
    self.assertEqual(train_lib.run(more)["step"], 4)

  def testExportTicketAndEvaluation_FailCleanlyKeepingWhatWasThere(self):
    workdir = os.path.join(self.disk, "w")
    config = testutil.tiny_config(workdir, train_steps=2)
    train_lib.run(config)
    generator = workdir_lib.restore_generator(config)
    frozen = saved_model.freeze(generator)
    models = os.path.join(self.disk, "models")
    first = saved_model.export_saved_model(frozen, config, models, "m")
    kwargs = dict(settings=evaluator_lib.EvalSettings(20),
                  cache_dir=testutil.cache_dir())
    result = evaluator_lib.evaluate_workdir(workdir, **kwargs)
    before = open(result["path"]).read()
    fill(self.disk, leave=20_000)

    with self.assertRaisesRegex(
        saved_model.ExportError, r"^export_dir: cannot write /\S+ \(errno 28, "
        r"No space left on device\); version 2 was not written"):
      saved_model.export_saved_model(frozen, config, models, "m")
    self.assertEqual(sorted(os.listdir(os.path.join(models, "m"))), ["1"])
    tf.saved_model.load(first).signatures["serving_default"]

    fill(self.disk, leave=0)  # What the failed export freed, taken again.
    ticket = os.path.join(self.disk, "t.npz")
    with self.assertRaisesRegex(saved_model.ExportError,
                                r"^ticket_path: cannot write .*errno 28"):
      compact.write_ticket(generator, config, ticket)
    self.assertFalse(os.path.exists(ticket))

    with self.assertRaisesRegex(RunError, r"^workdir: cannot write .*errno 28"):
      evaluator_lib.evaluate_workdir(workdir, **kwargs)
    self.assertEqual(open(result["path"]).read(), before)


if __name__ == "__main__":
  tf.test.main()
