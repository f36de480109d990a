"""Output channels follow the data, end to end: a search on the gray digits
draws one channel, and the number travels through resume, evaluation, the
SavedModel, the compact ticket and the sample grids; a workdir written before
the field existed still loads as the 3 channels it holds."""

import dataclasses
import json
import os
import shutil

import numpy as np
import tensorflow as tf

from slt_tf.errors import RunError
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.export import compact
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil


def served_images(model_dir, z):
  serve = tf.saved_model.load(model_dir).signatures["serving_default"]
  return serve(z=tf.constant(z))["images"].numpy()


class GrayRunTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    base = testutil.shared_dir("channels")
    cls.workdir = os.path.join(base, "gray")
    cls.config = testutil.tiny_config(cls.workdir, train_steps=2)
    if not os.path.exists(os.path.join(cls.workdir, "result.json")):
      train_lib.run(cls.config)

  def testGrayData_OneChannelRecordedAndDrawn(self):
    self.assertEqual(self.config.model.channels, 1)
    with open(workdir_lib.config_path(self.workdir)) as f:
      self.assertEqual(json.load(f)["channels"], 1)
    generator = workdir_lib.restore_generator(
        workdir_lib.read_config(self.workdir))
    z = tf.random.normal([2, self.config.model.latent_size])
    self.assertEqual(generator(z, training=False).shape, (2, 32, 32, 1))
    grids = sorted(os.listdir(os.path.join(self.workdir, "samples")))
    grid = tf.io.decode_png(open(os.path.join(
        self.workdir, "samples", grids[-1]), "rb").read())
    self.assertEqual(grid.shape[-1], 1)

  def testResume_KeepsOneChannel(self):
    workdir = os.path.join(self.get_temp_dir(), "resume")
    config = testutil.tiny_config(workdir, train_steps=2)
    train_lib.run(config)
    result = train_lib.run(config.replace(train_steps=4))
    self.assertEqual((result["step"], result["steps_this_run"]), (4, 2))
    self.assertEqual(workdir_lib.read_config(workdir).model.channels, 1)

  def testEvaluate_GraySamplesThroughTheBackbone(self):
    result = evaluator_lib.evaluate_workdir(
        self.workdir, settings=evaluator_lib.EvalSettings(20),
        cache_dir=testutil.cache_dir())
    self.assertTrue(np.isfinite(result["metrics"]["fid_digits_20"]))

  def testExportAndCompactTicket_ServeGrayImages(self):
    export_dir = os.path.join(self.get_temp_dir(), "models")
    ticket = os.path.join(self.get_temp_dir(), "gray.npz")
    result = testutil.run_module(
        "slt_tf.export", f"--workdir={self.workdir}",
        f"--export_dir={export_dir}", "--model_name=gray",
        f"--ticket_path={ticket}")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    z = np.random.default_rng(0).normal(
        size=(3, self.config.model.latent_size)).astype(np.float32)
    images = served_images(os.path.join(export_dir, "gray", "1"), z)
    self.assertEqual((images.dtype, images.shape), (np.uint8, (3, 32, 32, 1)))
    generator = workdir_lib.restore_generator(self.config)
    expected = np.clip(np.round((generator(z, training=False).numpy() + 1)
                                * 127.5), 0, 255).astype(np.uint8)
    self.assertAllEqual(images, expected)
    rebuilt, config, _ = compact.read_ticket(ticket)
    self.assertEqual(config.model.channels, 1)
    self.assertEqual(rebuilt.output_shape[-1], 1)


class OldWorkdirTest(tf.test.TestCase):
  """A workdir whose config.json predates the field: it holds 3 channels."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.workdir = os.path.join(testutil.shared_dir("channels"), "old")
    cls.config = testutil.tiny_config(cls.workdir, train_steps=2, channels=3)
    path = workdir_lib.config_path(cls.workdir)
    if not os.path.exists(os.path.join(cls.workdir, "result.json")):
      train_lib.run(cls.config)
      with open(path) as f:
        stored = json.load(f)
      del stored["channels"]
      with open(path, "w") as f:
        json.dump(stored, f)

  def testOldConfig_LoadsAsThreeChannels_EvaluatesAndRestores(self):
    config = workdir_lib.read_config(self.workdir)
    self.assertEqual(config.model.channels, 3)
    generator = workdir_lib.restore_generator(config)
    self.assertEqual(generator.output_shape[-1], 3)
    result = evaluator_lib.evaluate_workdir(
        self.workdir, settings=evaluator_lib.EvalSettings(20),
        cache_dir=testutil.cache_dir())
    self.assertTrue(np.isfinite(result["metrics"]["fid_digits_20"]))

  def testResume_NeedsTheThreeChannelsItHolds(self):
    workdir = os.path.join(self.get_temp_dir(), "old_copy")
    shutil.copytree(self.workdir, workdir)
    config = self.config.replace(workdir=workdir)
    # The default for the digits is now 1 channel: the run says what differs.
    with self.assertRaisesRegex(RunError, r"channels: 3 -> 1"):
      train_lib.run(config.replace(channels=None, train_steps=4))
    result = train_lib.run(config.replace(train_steps=3))
    self.assertEqual(result["step"], 3)


if __name__ == "__main__":
  tf.test.main()
