"""Search, evaluate and export on ``--dataset=fashion_mnist``, offline, from
small IDX files the test writes (real subprocesses; the same format as
Debian's dataset-fashion-mnist)."""

import json
import os

import tensorflow as tf

import testutil


class FashionCliTest(tf.test.TestCase):

  def testSearchEvaluateExport_OfflineFromLocalIdxFiles(self):
    base = self.get_temp_dir()
    source = os.path.join(base, "idx")
    testutil.write_idx(source, counts=(96, 40))
    env = {"SLT_TF_FASHION_MNIST_DIR": source}
    common = [f"--data_dir={base}/tfds", f"--cache_dir={base}/cache"]
    workdir = os.path.join(base, "run")
    search = testutil.run_module(
        "slt_tf.train", "--flagfile=configs/demo.cfg", "--dataset=fashion_mnist",
        f"--workdir={workdir}", "--width=4", "--batch_size=8",
        "--train_steps=2", "--checkpoint_every=2", "--eval_every=2",
        "--eval_samples=20", "--eval_bn_batches=0", *common, env=env,
        timeout=600)
    self.assertEqual(search.returncode, 0, search.stderr[-3000:])
    self.assertIn("preparing fashion_mnist from " + source, search.stderr)
    config = json.load(open(os.path.join(workdir, "config.json")))
    self.assertEqual((config["dataset"], config["channels"]),
                     ("fashion_mnist", 1))
    evaluated = testutil.run_module(
        "slt_tf.evaluate", f"--workdir={workdir}", "--eval_samples=20",
        f"--cache_dir={base}/cache", env=env, timeout=600)
    self.assertEqual(evaluated.returncode, 0, evaluated.stderr[-3000:])
    result = testutil.strict_json(
        evaluated.stdout.strip().splitlines()[-1][len("wrote "):])
    # The report split is the whole test split; selection came from train.
    self.assertEqual((result["split"], result["n"]), ("test", 20))
    best = testutil.strict_json(os.path.join(workdir, "best", "best.json"))
    self.assertEqual(best["split"], "train[:16]")
    self.assertRegex(result["backbone"], "^domain")
    self.assertGreater(result["metrics"][f"fid_{result['backbone']}_20"], 0)
    models = os.path.join(base, "models")
    exported = testutil.run_module(
        "slt_tf.export", f"--workdir={workdir}", f"--export_dir={models}",
        "--model_name=fashion", env=env, timeout=600)
    self.assertEqual(exported.returncode, 0, exported.stderr[-3000:])
    serve = tf.saved_model.load(os.path.join(models, "fashion", "1"))
    images = serve.signatures["sample"](
        num_images=tf.constant(2), seed=tf.constant(0, tf.int64))["images"]
    self.assertEqual((images.dtype, images.shape),
                     (tf.uint8, (2, 32, 32, 1)))


if __name__ == "__main__":
  tf.test.main()
