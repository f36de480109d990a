"""Evaluation: the evaluator and the evaluate CLI, best-checkpoint selection
and the backbones, on tiny searches of the embedded digits."""

import os

import keras
from tensorboard.backend.event_processing import event_accumulator
import tensorflow as tf

from slt_tf.data import datasets
from slt_tf import errors
from slt_tf.evaluation import backbones
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.eval_settings import EvalSettings
from slt_tf.features import classifier
from slt_tf.generators import batch_norm_stats
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil


class EvaluateTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.workdir = os.path.join(testutil.shared_dir("evaluate"), "run")
    cls.config = testutil.tiny_config(cls.workdir, train_steps=2,
                                      eval_every=1, eval_samples=64)
    train_lib.run(cls.config)

  def testWorkdir_NamedMetricsStrictJsonAndTensorBoard(self):
    result = evaluator_lib.evaluate_workdir(
        self.workdir, settings=EvalSettings(50), cache_dir=testutil.cache_dir())
    self.assertEqual((result["split"], result["backbone"], result["n"],
                      result["step"]), ("test[50%:]", "digits", 50, 2))
    # KID's standard error needs two blocks of images (N > 1,024): at N=50
    # it is not defined, and left out rather than written as NaN.
    self.assertCountEqual(result["metrics"], [
        f"{m}_digits_50" for m in ("fid", "kid", "precision", "recall",
                                   "density", "coverage", "is")])
    self.assertGreater(result["metrics"]["fid_digits_50"], 0)
    # Named by the split's role; the exact split inside.
    self.assertEqual(result["path"], os.path.join(
        self.workdir, "eval", "report", "step_0000002.json"))
    stored = testutil.strict_json(result["path"])
    self.assertEqual((stored["split"], stored["role"]), ("test[50%:]",
                                                         "report"))
    self.assertEqual(stored["metrics"], result["metrics"])
    events = event_accumulator.EventAccumulator(
        os.path.join(self.workdir, "tensorboard", "report"),
        size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    self.assertIn("eval/fid_digits_50", events.Tags()["tensors"])

  def testResultOfBeforeRoleNames_StillReused(self):
    """A result file named as before evaluations were named by role
    (``eval/<name>_<split label>.json``) is found and reused."""
    settings, cache_dir = EvalSettings(40), testutil.cache_dir()
    first = evaluator_lib.evaluate_workdir(
        self.workdir, "latest", settings=settings, cache_dir=cache_dir)
    old = os.path.join(self.workdir, "eval", "step_0000002_test_50pctto.json")
    os.rename(first["path"], old)
    again = evaluator_lib.evaluate_workdir(
        self.workdir, "latest", settings=settings, reuse=True,
        cache_dir=cache_dir)
    self.assertEqual(again["metrics"], first["metrics"])
    self.assertFalse(os.path.exists(first["path"]))  # Read, not recomputed.
    other = evaluator_lib.evaluate_workdir(
        self.workdir, "latest", settings=settings.replace(seed=5), reuse=True,
        cache_dir=cache_dir)
    self.assertNotEqual(other["metrics"], first["metrics"])
    os.remove(old)

  def testSearchWithEvalEvery_BestKeptOnTheSelectionSplitOnly(self):
    best = testutil.strict_json(os.path.join(self.workdir, "best", "best.json"))
    selection, report = datasets.held_out_splits(datasets.EMBEDDED)
    self.assertEqual((selection, report), ("test[:50%]", "test[50%:]"))
    self.assertEqual(best["split"], selection)
    self.assertEqual(best["metric"], "fid_digits_64")
    directory = os.path.join(self.workdir, "eval", "selection")
    self.assertEqual(sorted(os.listdir(directory)),
                     ["step_0000001.json", "step_0000002.json"])
    selected = [testutil.strict_json(os.path.join(directory, e))
                for e in os.listdir(directory)]
    self.assertEqual({s["split"] for s in selected}, {selection})
    self.assertEqual(best["value"], min(s["metrics"]["fid_digits_64"]
                                        for s in selected))
    result = evaluator_lib.evaluate_workdir(
        self.workdir, checkpoint="best", settings=EvalSettings(20),
        cache_dir=testutil.cache_dir())
    self.assertEqual(result["step"], best["step"])
    self.assertEqual(result["split"], report)

  def testCli_WritesJsonAndRefusesMissingCheckpoints(self):
    result = testutil.run_module(
        "slt_tf.evaluate", f"--workdir={self.workdir}", "--eval_samples=30",
        f"--cache_dir={testutil.cache_dir()}")
    self.assertEqual(result.returncode, 0, result.stderr)
    self.assertIn("fid_digits_30", result.stdout)
    # The kept checkpoint by default, said in one line.
    best = testutil.strict_json(os.path.join(self.workdir, "best", "best.json"))
    self.assertIn("checkpoint: the best one the search kept", result.stderr)
    self.assertTrue(os.path.exists(os.path.join(
        self.workdir, "eval", "report", f"step_{best['step']:07d}.json")))
    self.assertNotIn("nan", result.stdout.lower())
    capped = testutil.run_module(
        "slt_tf.evaluate", f"--workdir={self.workdir}", "--eval_samples=600",
        "--checkpoint=latest", f"--cache_dir={testutil.cache_dir()}")
    self.assertEqual(capped.returncode, 0, capped.stderr)
    self.assertIn("N=500: the split test[50%:] holds 500 images, fewer than "
                  "--eval_samples=600", capped.stdout)
    self.assertIn("fid_digits_500", capped.stdout)

    empty = self.get_temp_dir() + "/empty"
    os.makedirs(empty)
    with open(os.path.join(empty, "config.json"), "w") as f:
      f.write(self.config.to_json())
    cases = (([f"--workdir={empty}"], "no checkpoint"),
             ([f"--workdir={self.workdir}", "--checkpoint=nope"],
              "not a checkpoint prefix"),
             ([f"--workdir={empty}/missing"], "does not exist"))
    results = testutil.entry_cases("slt_tf.evaluate",
                                   [args for args, _ in cases])
    for (args, expected), result in zip(cases, results):
      self.assertNotEqual(result["status"], 0, args)
      self.assertIsNone(result["traceback"], args)
      last = result["stderr"].strip().splitlines()[-1]
      self.assertRegex(last, f"^error: --.*{expected}")


  def testExportedSavedModel_SameMetricsAsItsCheckpoint(self):
    """The SavedModel is written here with Keras's ExportArchive in the
    serving_default layout ``slt_tf.export.saved_model`` writes."""
    generator = workdir_lib.restore_generator(self.config)
    nz = self.config.model.latent_size

    def serve(z):
      images = generator(z, training=False)
      return {"images": tf.cast(tf.clip_by_value(
          tf.round((images + 1.0) * 127.5), 0, 255), tf.uint8)}

    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint("serving_default", serve, input_signature=[
        tf.TensorSpec([None, nz], tf.float32, name="z")])
    export_dir = os.path.join(self.get_temp_dir(), "export", "1")
    archive.write_out(export_dir, verbose=False)
    kwargs = dict(settings=EvalSettings(200), cache_dir=testutil.cache_dir())
    from_checkpoint = evaluator_lib.evaluate_workdir(self.workdir, **kwargs)
    from_export = evaluator_lib.evaluate_workdir(
        self.workdir, saved_model=export_dir, **kwargs)
    self.assertEqual(os.path.basename(from_export["path"]),
                     "saved_model.json")
    # Only the uint8 rounding of the exported images differs.
    for name in ("fid_digits_200", "kid_digits_200", "is_digits_200"):
      self.assertAllClose(from_export["metrics"][name],
                          from_checkpoint["metrics"][name], rtol=0.02,
                          msg=name)
    with self.assertRaisesRegex(errors.RunError, "^saved_model: "):
      evaluator_lib.evaluate_workdir(self.workdir,
                                    saved_model=self.get_temp_dir(), **kwargs)
    with self.assertRaisesRegex(errors.RunError, "^bn_batches: "):
      evaluator_lib.evaluate_workdir(self.workdir, saved_model=export_dir,
                                     settings=EvalSettings(200, bn_batches=2),
                                     cache_dir=testutil.cache_dir())

  def testBnReestimation_OwnFileSameAsReestimatingFirstStatsRestored(self):
    plain_settings, cache_dir = EvalSettings(30), testutil.cache_dir()
    bn_settings = plain_settings.replace(bn_batches=2)
    plain = evaluator_lib.evaluate_workdir(self.workdir,
                                           settings=plain_settings,
                                           cache_dir=cache_dir)
    bn = evaluator_lib.evaluate_workdir(self.workdir, settings=bn_settings,
                                        cache_dir=cache_dir)
    self.assertEqual(bn["bn_batches"], 2)
    self.assertEqual(os.path.basename(bn["path"]), "step_0000002_bn.json")
    self.assertTrue(os.path.exists(plain["path"]))
    self.assertNotAllClose(plain["metrics"]["fid_digits_30"],
                           bn["metrics"]["fid_digits_30"])
    generator = workdir_lib.restore_generator(self.config)
    norms = batch_norm_stats.batch_norms(generator)
    stored = [n.moving_mean.numpy() for n in norms]
    evaluator = evaluator_lib.Evaluator(self.config, plain["split"],
                                        bn_settings, cache_dir)
    values = evaluator.evaluate(generator)
    for norm, mean in zip(norms, stored):
      self.assertAllEqual(norm.moving_mean.numpy(), mean)
    # The same as re-estimating by hand, then evaluating plainly.
    batch_norm_stats.reestimate(generator, 2, self.config.optim.batch_size,
                                self.config.model.latent_size)
    by_hand = evaluator_lib.Evaluator(self.config, plain["split"],
                                      plain_settings,
                                      cache_dir).evaluate(generator)
    self.assertAllClose(values["fid_digits_30"], by_hand["fid_digits_30"],
                        rtol=1e-5)
    self.assertAllClose(values["fid_digits_30"], bn["metrics"]["fid_digits_30"],
                        rtol=1e-5)
    with self.assertRaisesRegex(ValueError, "^bn_batches must be >= 0"):
      plain_settings.replace(bn_batches=-1)
    with self.assertRaisesRegex(ValueError, "^num_samples must be >= 2"):
      EvalSettings(1)


  def testGrayscaleDiagnostic_OwnNamesOwnFileSameOnGrayImages(self):
    settings, cache_dir = EvalSettings(30), testutil.cache_dir()
    plain = evaluator_lib.evaluate_workdir(self.workdir, settings=settings,
                                           cache_dir=cache_dir)
    gray = evaluator_lib.evaluate_workdir(
        self.workdir, settings=settings.replace(grayscale=True),
        cache_dir=cache_dir)
    self.assertIn("fid_digits-gray_30", gray["metrics"])
    self.assertNotEqual(plain["path"], gray["path"])
    self.assertEqual(os.path.basename(gray["path"]), "step_0000002_gray.json")
    self.assertTrue(os.path.exists(plain["path"]))
    # On a generator whose images are gray already (the digits' draws one
    # channel), both metrics agree.
    as_gray = workdir_lib.restore_generator(self.config)
    self.assertEqual(as_gray.output_shape[-1], 1)
    split = plain["split"]
    values = [evaluator_lib.Evaluator(self.config, split,
                                     settings.replace(grayscale=g),
                                     cache_dir).evaluate(as_gray)
              for g in (False, True)]
    self.assertAllClose(values[0]["fid_digits_30"],
                        values[1]["fid_digits-gray_30"], rtol=1e-4)
    self.assertNotAllClose(plain["metrics"]["fid_digits_30"],
                           gray["metrics"]["fid_digits-gray_30"])


class BackboneTest(tf.test.TestCase):

  def testDigitsEvaluator_AccurateAndIndependentOfTheFeatureNet(self):
    cache_dir = testutil.cache_dir()
    backbone = backbones.build("digits", 32, dataset=datasets.EMBEDDED,
                               cache_dir=cache_dir,
                               data_dir=testutil.data_dir())
    _, info = classifier.ensure_trained(
        datasets.EMBEDDED, 32, backbones.EVALUATOR_SEED, cache_dir,
        testutil.data_dir(), classifier.EVALUATOR)
    self.assertGreater(info["test_accuracy"], 0.9)
    self.assertNotEqual(classifier.EVALUATOR.name,
                        classifier.FEATURE_NET.name)
    images = next(iter(datasets.batched(datasets.load(
        datasets.EMBEDDED, 32, "test", testutil.data_dir()).dataset, 8)))
    acts, logits = backbones.activations(backbone, [images])
    self.assertEqual((acts.shape, logits.shape), ((8, 256), (8, 10)))

  def testInception_PoolFeaturesAt299AndClearWeightErrors(self):
    backbone = backbones.build("inception", 32, "random")
    acts, logits = backbones.activations(
        backbone, [tf.random.uniform((2, 32, 32, 3), -1, 1)])
    self.assertEqual(acts.shape, (2, 2048))
    self.assertIsNone(logits)
    with self.assertRaisesRegex(backbones.BackboneError,
                                "^backbone_weights is required"):
      backbones.build("inception", 32, None)
    with self.assertRaisesRegex(backbones.BackboneError, "^backbone must"):
      backbones.build("alexnet", 32)
    with self.assertRaisesRegex(backbones.BackboneError, "labelled dataset"):
      backbones.build("digits", 32, dataset=f"folder:{self.get_temp_dir()}")


class NamingTest(tf.test.TestCase):

  def testMetricNames_BackboneAndN(self):
    self.assertEqual(evaluator_lib.metric_name("fid", "inception", 10000),
                     "fid_inception_10k")
    self.assertEqual(evaluator_lib.metric_name("fid", "digits", 500),
                     "fid_digits_500")
    # Folders have held-out splits now (tests/test_data_folders.py); an empty
    # one has nothing to split.
    with self.assertRaisesRegex(datasets.DataError, "^dataset folder:.*no "
                                "images"):
      datasets.held_out_splits(f"folder:{self.get_temp_dir()}")


if __name__ == "__main__":
  tf.test.main()
