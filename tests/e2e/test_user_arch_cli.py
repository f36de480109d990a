"""A plain Keras generator searched from the command line
(``--arch=examples.dcgan:build``, the README's DCGAN): search, resume,
evaluate, export to TF Serving and the compact ticket, and the ticket rebuilt
only when its architecture is named. Real subprocesses, files and
SavedModels, on the embedded digits."""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from slt_tf.errors import RunError
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.export import compact
from slt_tf.generators import user
from slt_tf.export import saved_model
from slt_tf.ticket.options import TicketOptions
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil

ARCH = "examples.dcgan:build"


def search(workdir, steps, *flags):
  return testutil.run_module(
      "slt_tf.train", "--flagfile=configs/demo.cfg", f"--arch={ARCH}",
      f"--workdir={workdir}", "--width=4", "--max_real_images=256",
      "--batch_size=8", f"--train_steps={steps}", "--checkpoint_every=2",
      "--eval_every=2", "--eval_samples=20", "--eval_bn_batches=1",
      "--log_every=1", "--sample_every=2", f"--data_dir={testutil.data_dir()}",
      f"--cache_dir={testutil.cache_dir()}", *flags)


def served(model_dir, z):
  serve = tf.saved_model.load(model_dir).signatures["serving_default"]
  return serve(z=tf.constant(z))["images"].numpy()


class UserArchitectureCliTest(tf.test.TestCase):

  def testSearchResumeEvaluateExportAndRebuild(self):
    workdir = os.path.join(self.get_temp_dir(), "dcgan")
    first = search(workdir, 2)
    self.assertEqual(first.returncode, 0, first.stderr[-3000:])
    self.assertIn(f"generator {ARCH} 32px", first.stderr)
    resumed = search(workdir, 4)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
    self.assertIn("resuming from", resumed.stderr)
    config = workdir_lib.read_config(workdir)
    self.assertEqual((config.model.arch, config.model.channels), (ARCH, 1))
    self.assertEqual(
        testutil.strict_json(os.path.join(workdir, "result.json"))["step"], 4)
    # Another architecture in the same workdir is refused, naming both.
    with self.assertRaisesRegex(RunError,
                                f"arch: '{ARCH}' -> 'user_archs:tiny'"):
      train_lib.run(config.replace(arch="user_archs:tiny",
                                        train_steps=6))

    result = evaluator_lib.evaluate_workdir(
        workdir, settings=evaluator_lib.EvalSettings(20),
        cache_dir=testutil.cache_dir())
    self.assertTrue(np.isfinite(result["metrics"]["fid_digits_20"]))

    models = os.path.join(self.get_temp_dir(), "models")
    ticket = os.path.join(self.get_temp_dir(), "dcgan.npz")
    exported = testutil.run_module(
        "slt_tf.export", f"--workdir={workdir}", f"--export_dir={models}",
        "--model_name=dcgan", f"--ticket_path={ticket}")
    self.assertEqual(exported.returncode, 0, exported.stderr[-3000:])
    report = json.loads(exported.stdout)
    self.assertNotIn("compact", report["ticket"])
    self.assertLess(report["ticket"]["bytes"], report["ticket"]["dense_bytes"])

    # The ticket names its architecture but never imports it by itself.
    with self.assertRaises(compact.ExportError) as unnamed:
      compact.read_ticket(ticket)
    self.assertEqual(str(unnamed.exception),
                     f"arch: {ticket} is a ticket of the user "
                     f"architecture {ARCH}; name it with --arch={ARCH} to "
                     "rebuild it (a ticket file never imports code by itself)")
    with self.assertRaisesRegex(compact.ExportError,
                                rf"is a ticket of {ARCH}, not user_archs:tiny"):
      compact.read_ticket(ticket, "user_archs:tiny")
    # A ticket of a module this machine lacks: its own one-line error.
    with np.load(ticket) as stored:
      arrays = {k: stored[k] for k in stored.files if k != "digest"}
    arrays["config"] = np.array(str(arrays["config"]).replace(
        ARCH, "gone_module:build"))
    gone = os.path.join(self.get_temp_dir(), "gone.npz")
    np.savez(gone, **arrays)
    with self.assertRaisesRegex(user.ArchitectureError,
                                r"^arch: cannot import 'gone_module' "
                                r"\(ModuleNotFoundError"):
      compact.read_ticket(gone, "gone_module:build")
    rebuilt = testutil.run_module(
        "slt_tf.export", f"--ticket={ticket}", f"--arch={ARCH}",
        f"--export_dir={models}", "--model_name=rebuilt")
    self.assertEqual(rebuilt.returncode, 0, rebuilt.stderr[-3000:])

    # Both SavedModels serve the same images, those of the kept checkpoint.
    z = np.random.default_rng(0).normal(
        size=(3, config.model.latent_size)).astype(np.float32)
    from_workdir = served(os.path.join(models, "dcgan", "1"), z)
    from_ticket = served(os.path.join(models, "rebuilt", "1"), z)
    self.assertEqual((from_workdir.dtype, from_workdir.shape),
                     (np.uint8, (3, 32, 32, 1)))
    self.assertAllEqual(from_ticket, from_workdir)
    self.assertGreater(np.ptp(from_workdir), 0)


class ModelsOwnWeightsTicketTest(tf.test.TestCase):
  """``--weight_init=model``: the function's own (unseeded) weights, stored
  whole in the ticket, which says it is not compact."""

  def testTicketStoresTheWeights_RebuildsTheSameModel(self):
    workdir = os.path.join(self.get_temp_dir(), "own")
    config = testutil.tiny_config(
        workdir, arch="user_archs:tiny", width=None, ticket=TicketOptions(
            keep_ratio=0.2, seed=1, weight_init="model"), train_steps=2)
    train_lib.run(config)
    generator = workdir_lib.restore_generator(config)
    path = os.path.join(self.get_temp_dir(), "own.npz")
    report = compact.write_ticket(generator, config, path)
    self.assertFalse(report["compact"])
    self.assertIn("--weight_init=model", report["why"])
    self.assertGreater(report["bytes"], report["dense_bytes"] // 2)
    rebuilt, _, masks = compact.read_ticket(path, "user_archs:tiny")
    z = np.random.default_rng(1).normal(size=(2, config.model.latent_size))
    self.assertAllEqual(
        saved_model.freeze(rebuilt, masks)(z, training=False),
        saved_model.freeze(generator)(z, training=False))


if __name__ == "__main__":
  tf.test.main()
