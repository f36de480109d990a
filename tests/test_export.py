"""Export: TF Serving SavedModels (both loaders), the compact ticket, errors.

No tensorflow_model_server binary can be obtained on these machines, so the
real server is not started: the SavedModels are checked with TensorFlow's
session loader through ``saved_model_cli run`` (the kind of loader TF Serving
uses) and with ``tf.saved_model.load``.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import tensorflow as tf

from slt_tf.errors import RunError
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.export import compact
from slt_tf.export import saved_model
from slt_tf import generators
from slt_tf.generators import inputs as inputs_lib
from slt_tf.generators import TicketOptions
from slt_tf.generators import batch_norm_stats
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil


def export(*args):
  return testutil.run_module("slt_tf.export", *args)


def saved_model_cli_run(model_dir, signature, outdir, *input_args):
  """Runs a signature in TensorFlow's session loader; returns the images."""
  cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
  result = subprocess.run(
      [cli, "run", "--dir", model_dir, "--tag_set", "serve",
       "--signature_def", signature, "--outdir", outdir, "--overwrite",
       *input_args], capture_output=True, text=True, timeout=300,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert result.returncode == 0, result.stderr[-3000:]
  return np.load(os.path.join(outdir, "images.npy"))


class ExportTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    base = testutil.shared_dir("export")
    cls.workdir = os.path.join(base, "gfmn")
    cls.config = testutil.tiny_config(cls.workdir, train_steps=2)
    if not os.path.exists(os.path.join(cls.workdir, "result.json")):
      train_lib.run(cls.config)
    cls.export_dir = os.path.join(base, "models")
    cls.ticket = os.path.join(base, "gfmn.ticket.npz")
    result = export(f"--workdir={cls.workdir}", f"--export_dir={cls.export_dir}",
                    "--model_name=gfmn", f"--ticket_path={cls.ticket}")
    assert result.returncode == 0, result.stderr[-3000:]
    cls.report = json.loads(result.stdout)
    cls.model_dir = os.path.join(cls.export_dir, "gfmn", "1")

  def testLayout_ServingVersionsAndImmutableVersions(self):
    self.assertEqual(self.report["saved_model"]["path"], self.model_dir)
    self.assertTrue(os.path.exists(os.path.join(self.model_dir,
                                                "saved_model.pb")))
    self.assertTrue(os.path.isdir(os.path.join(self.model_dir, "variables")))
    self.assertEqual(os.listdir(os.path.join(self.export_dir, "gfmn")), ["1"])
    again = export(f"--workdir={self.workdir}", f"--export_dir={self.export_dir}",
                   "--model_name=gfmn", "--version=1")
    self.assertNotEqual(again.returncode, 0)
    self.assertRegex(again.stderr.strip().splitlines()[-1],
                     "^error: --version: .* exists already")

  def testBothSignaturesBothLoaders_Uint8ImagesOfTheTicket(self):
    z = np.random.default_rng(0).normal(
        size=(3, self.config.model.latent_size)).astype(np.float32)
    loaded = tf.saved_model.load(self.model_dir)
    served = loaded.signatures["serving_default"](z=tf.constant(z))["images"]
    # The digits are gray, so their ticket draws (and serves) one channel.
    self.assertEqual(self.config.model.channels, 1)
    self.assertEqual((served.dtype, tuple(served.shape)),
                     (tf.uint8, (3, 32, 32, 1)))
    generator = workdir_lib.restore_generator(self.config)
    expected = np.clip(np.round(
        (generator(z, training=False).numpy() + 1) * 127.5), 0, 255)
    self.assertAllEqual(served.numpy(), expected.astype(np.uint8))
    self.assertGreater(int(tf.reduce_max(served)) - int(tf.reduce_min(served)),
                       0)

    z_path = os.path.join(self.get_temp_dir(), "z.npy")
    np.save(z_path, z)
    session = saved_model_cli_run(self.model_dir, "serving_default",
                                  self.get_temp_dir() + "/a", "--inputs",
                                  f"z={z_path}")
    self.assertAllEqual(session, served.numpy())

    sample = loaded.signatures["sample"](
        num_images=tf.constant(4), seed=tf.constant(7, tf.int64))["images"]
    self.assertEqual((sample.dtype, tuple(sample.shape)),
                     (tf.uint8, (4, 32, 32, 1)))
    session_sample = saved_model_cli_run(
        self.model_dir, "sample", self.get_temp_dir() + "/b", "--input_exprs",
        "num_images=4;seed=7")
    self.assertAllEqual(session_sample, sample.numpy())
    other = loaded.signatures["sample"](
        num_images=tf.constant(4), seed=tf.constant(8, tf.int64))["images"]
    self.assertNotAllEqual(other, sample)
    # The draw is the one the search and the evaluator use, seed pair (7, 0).
    drawn = inputs_lib.latent_batch(4, self.config.model.latent_size, 0, [7, 0])
    self.assertAllEqual(
        sample, loaded.signatures["serving_default"](z=drawn[0])["images"])

  def testCompactTicket_RebuildsABitIdenticalSavedModel(self):
    result = export(f"--ticket={self.ticket}", f"--export_dir={self.export_dir}",
                    "--model_name=from_ticket")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    rebuilt = os.path.join(self.export_dir, "from_ticket", "1")
    z = tf.random.normal([5, self.config.model.latent_size], seed=3)
    a = tf.saved_model.load(self.model_dir).signatures["serving_default"](z=z)
    b = tf.saved_model.load(rebuilt).signatures["serving_default"](z=z)
    self.assertAllEqual(a["images"], b["images"])

  def testBnBatches_ServesTheReestimatedNetworkAndTheTicketCarriesIt(self):
    base = self.get_temp_dir()
    ticket = os.path.join(base, "bn.ticket.npz")
    result = export(f"--workdir={self.workdir}", f"--export_dir={base}/m",
                    "--model_name=bn", "--bn_batches=3",
                    f"--ticket_path={ticket}")
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    self.assertEqual(json.loads(result.stdout)["bn_batches"], 3)
    self.assertEqual(self.report["bn_batches"], 0)  # The run's default: none.
    z = np.random.default_rng(1).normal(
        size=(4, self.config.model.latent_size)).astype(np.float32)
    served = tf.saved_model.load(os.path.join(base, "m", "bn", "1")).signatures[
        "serving_default"](z=tf.constant(z))["images"].numpy()
    # Reference: the checkpoint re-estimated in this process (the evaluator's
    # latents, seed 0), then rounded as the export rounds.
    generator = workdir_lib.restore_generator(self.config)
    plain = generator(z, training=False).numpy()
    batch_norm_stats.reestimate(generator, 3, self.config.optim.batch_size,
                                self.config.model.latent_size)
    expected = np.clip(np.round(
        (generator(z, training=False).numpy() + 1) * 127.5), 0, 255)
    self.assertAllEqual(served, expected.astype(np.uint8))
    self.assertNotAllClose(plain, generator(z, training=False).numpy())
    rebuilt, _, masks = compact.read_ticket(ticket)
    frozen = saved_model.freeze(rebuilt, masks)
    self.assertAllClose(frozen(z, training=False).numpy(),
                        generator(z, training=False).numpy(), atol=1e-5)
    refused = export(f"--ticket={ticket}", f"--export_dir={base}/m",
                     "--model_name=again", "--bn_batches=2")
    self.assertNotEqual(refused.returncode, 0)
    self.assertRegex(refused.stderr.strip().splitlines()[-1],
                     "^error: --bn_batches needs --workdir")

  def testCompactTicket_AtLeast25TimesSmallerThanDenseFloat32(self):
    config = testutil.tiny_config(self.get_temp_dir() + "/w", width=16)
    generator = generators.build(config.model.arch, **config.generator_kwargs())
    path = os.path.join(self.get_temp_dir(), "w16.npz")
    info = compact.write_ticket(generator, config, path)
    self.assertEqual(info["bytes"], os.path.getsize(path))
    self.assertGreaterEqual(info["dense_bytes"] / info["bytes"], 25)

  def testConditionalColourBigGan_LabelInputAndBitIdenticalTicket(self):
    config = testutil.tiny_config(
        self.get_temp_dir() + "/biggan", arch="biggan", width=8,
        num_classes=10, train_steps=1, channels=3)
    train_lib.run(config)
    generator = workdir_lib.restore_generator(config)
    frozen = saved_model.freeze(generator)
    path = saved_model.export_saved_model(frozen, config, self.get_temp_dir(),
                                         "biggan")
    ticket = os.path.join(self.get_temp_dir(), "biggan.npz")
    compact.write_ticket(generator, config, ticket)
    rebuilt, config2, masks = compact.read_ticket(ticket)
    path2 = saved_model.export_saved_model(saved_model.freeze(rebuilt, masks),
                                          config2, self.get_temp_dir(),
                                          "biggan")
    self.assertEqual(os.path.basename(path2), "2")
    serve = tf.saved_model.load(path).signatures["serving_default"]
    serve2 = tf.saved_model.load(path2).signatures["serving_default"]
    self.assertCountEqual(serve.structured_input_signature[1], ["z", "label"])
    z = tf.random.normal([4, config.model.latent_size], seed=5)
    labels = tf.constant([0, 3, 5, 9], tf.int32)
    images = serve(z=z, label=labels)["images"]
    self.assertEqual(images.shape, (4, 32, 32, 3))
    self.assertEqual(config2.model.channels, 3)
    self.assertAllEqual(images, serve2(z=z, label=labels)["images"])
    self.assertNotAllEqual(images, serve(z=z, label=labels[::-1])["images"])
    expected = generator([z, labels], training=False).numpy()
    self.assertAllEqual(images, np.clip(np.round((expected + 1) * 127.5), 0,
                                        255).astype(np.uint8))

  def testEditedTicket_RefusedByItsDigest_OldTicketsStillLoad(self):
    with np.load(self.ticket) as stored:
      arrays = {k: stored[k] for k in stored.files}
    self.assertIn("digest", arrays)
    name = next(k for k in arrays if k.startswith("mask/"))
    edited = dict(arrays)
    edited[name] = arrays[name].copy()
    edited[name][0] ^= 1  # One weight more or less.
    path = os.path.join(self.get_temp_dir(), "edited.npz")
    np.savez_compressed(path, **edited)
    with self.assertRaisesRegex(saved_model.ExportError,
                                r"^ticket: .*edited.npz was changed after it "
                                r"was written"):
      compact.read_ticket(path)
    old = {k: v for k, v in arrays.items() if k != "digest"}
    path = os.path.join(self.get_temp_dir(), "old.npz")
    np.savez_compressed(path, **old)
    _, config, _ = compact.read_ticket(path)  # Written before digests: loads.
    self.assertEqual(config.seed, self.config.seed)

  def testSavedModelOfAnotherRun_EvaluationRefusesIt(self):
    other = self.config.replace(workdir=self.get_temp_dir(),
                                ticket=TicketOptions(keep_ratio=0.3, seed=9))
    frozen = saved_model.freeze(
        generators.build(other.model.arch, **other.generator_kwargs()))
    path = saved_model.export_saved_model(frozen, other, self.get_temp_dir(),
                                          "other")
    with self.assertRaisesRegex(RunError, r"^saved_model: .* was exported "
                                r"from another run than --workdir .*ticket"):
      evaluator_lib.evaluate_workdir(self.workdir, saved_model=path,
                                     settings=evaluator_lib.EvalSettings(10))

  def testServingRequest_WrongLatentSizeOrDtype_RefusedClearly(self):
    serve = tf.saved_model.load(self.model_dir).signatures["serving_default"]
    nz = self.config.model.latent_size
    with self.assertRaisesRegex((TypeError, tf.errors.InvalidArgumentError),
                                rf"z must be float32 \[batch, {nz}\]"):
      serve(z=tf.zeros([2, nz + 1]))
    # TensorFlow's session loader, as TF Serving runs the model.
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    z = np.zeros((2, nz + 1), np.float32)
    path = os.path.join(self.get_temp_dir(), "z_too_wide.npy")
    np.save(path, z)
    result = subprocess.run(
        [cli, "run", "--dir", self.model_dir, "--tag_set", "serve",
         "--signature_def", "serving_default", "--inputs", f"z={path}"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    self.assertNotEqual(result.returncode, 0)
    self.assertRegex(result.stderr,
                     rf"shape \(2, {nz + 1}\) .*shape \(None, {nz}\)")
    # A latent of another dtype does not bind to the signature.
    with self.assertRaisesRegex((TypeError, tf.errors.InvalidArgumentError),
                                r"expected to be a float tensor but is a "
                                r"int32 tensor"):
      serve(z=tf.zeros([2, nz], tf.int32))

  def testBadInputs_OneLineErrors(self):
    empty = self.get_temp_dir() + "/empty"
    os.makedirs(empty)
    with open(os.path.join(empty, "config.json"), "w") as f:
      f.write(self.config.to_json())
    corrupt = os.path.join(self.get_temp_dir(), "corrupt.npz")
    with open(self.ticket, "rb") as f:
      data = f.read()
    with open(corrupt, "wb") as f:
      f.write(data[:len(data) // 2])
    truncated = os.path.join(self.get_temp_dir(), "truncated")
    shutil.copytree(self.workdir, truncated)
    for name in tf.io.gfile.glob(os.path.join(truncated, "checkpoints",
                                              "ckpt-2.data*")):
      os.truncate(name, os.path.getsize(name) // 2)
    cases = (
        ([f"--workdir={empty}", f"--export_dir={self.get_temp_dir()}",
          "--model_name=m"], "^error: --workdir: no checkpoint"),
        ([f"--workdir={truncated}", f"--export_dir={self.get_temp_dir()}/t",
          "--model_name=m"], "^error: --checkpoint: .*ckpt-2 cannot be read "
         ".*truncated or corrupted"),
        ([f"--ticket={corrupt}", f"--export_dir={self.get_temp_dir()}",
          "--model_name=m"], "^error: --ticket: .*corrupt.npz"),
        ([f"--workdir={self.workdir}", f"--export_dir={self.get_temp_dir()}",
          "--model_name=a/b"], "^error: --model_name"),
        ([f"--workdir={self.workdir}"], "^error: --export_dir"),
    )
    results = testutil.entry_cases("slt_tf.export",
                                   [args for args, _ in cases])
    for (args, expected), result in zip(cases, results):
      self.assertNotEqual(result["status"], 0, args)
      self.assertIsNone(result["traceback"], args)
      self.assertRegex(result["stderr"].strip().splitlines()[-1], expected)
    self.assertEqual(os.listdir(self.get_temp_dir() + "/empty"),
                     ["config.json"])
    self.assertFalse(os.path.exists(self.get_temp_dir() + "/t"))
    dense = testutil.tiny_config(self.get_temp_dir() + "/dense",
                                 method="dense", ticket=TicketOptions(seed=1))
    with self.assertRaisesRegex(saved_model.ExportError, "^ticket_path: "):
      compact.write_ticket(
          generators.build(dense.model.arch, **dense.generator_kwargs()), dense,
          os.path.join(self.get_temp_dir(), "dense.npz"))


class AffineBatchNormExportTest(tf.test.TestCase):

  def testFrozenModel_KeepsTheAffineParametersItWasTrainedWith(self):
    generator = generators.build("sngan", resolution=32, width=8,
                                 bn_affine=True, mode="dense", seed=2)
    rng = np.random.default_rng(0)
    for layer in generator.layers:
      if layer.__class__.__name__ == "AffineBatchNorm":  # As if trained.
        layer.gamma.assign(rng.normal(1, 0.3, layer.gamma.shape))
        layer.beta.assign(rng.normal(0, 0.3, layer.beta.shape))
        layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape))
    frozen = saved_model.freeze(generator)
    z = tf.random.stateless_normal([3, 128], seed=[1, 2])
    self.assertAllClose(frozen(z, training=False),
                        generator(z, training=False), atol=1e-5)


if __name__ == "__main__":
  tf.test.main()
