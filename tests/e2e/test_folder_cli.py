"""One's own labelled image folder, through the CLIs and offline: search ->
evaluate (the folder's own domain evaluator) -> export, for a gray and a
colour folder written by the test."""

import json
import os

from absl.testing import parameterized
import numpy as np
import tensorflow as tf

import testutil

CLASSES = ("bars", "checks", "stripes")


def pattern(label, rng, channels):
  """A 32x32 image whose class shows in its structure (and, in colour, its
  tint), with noise, so that a small classifier learns the classes."""
  y, x = np.mgrid[0:32, 0:32]
  base = [(y // 4) % 2, ((y // 4) + (x // 4)) % 2, (x // 4) % 2][label]
  image = 200.0 * base + rng.normal(0, 20, (32, 32))
  if channels == 1:
    return np.clip(image, 0, 255).astype(np.uint8)[..., None]
  tint = np.eye(3)[label] * 0.6 + 0.4
  return np.clip(image[..., None] * tint, 0, 255).astype(np.uint8)


def write_folder(root, channels, per_class=40):
  rng = np.random.default_rng(channels)
  for label, name in enumerate(CLASSES):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    for i in range(per_class):
      image = pattern(label, rng, channels)
      encode = tf.io.encode_png if channels == 1 else tf.io.encode_jpeg
      suffix = "png" if channels == 1 else "jpg"
      with open(os.path.join(root, name, f"{i:03d}.{suffix}"), "wb") as f:
        f.write(encode(image).numpy())


class FolderCliTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(("gray", 1), ("colour", 3))
  def testSearchEvaluateExport_OnALabelledFolder(self, channels):
    base = self.get_temp_dir()
    root, workdir = os.path.join(base, "images"), os.path.join(base, "run")
    write_folder(root, channels)
    common = [f"--cache_dir={testutil.cache_dir()}"]
    result = testutil.run_module(
        "slt_tf.train", "--flagfile=configs/demo.cfg",
        f"--dataset=folder:{root}", f"--workdir={workdir}", "--width=4",
        "--batch_size=8", "--train_steps=2", "--checkpoint_every=2",
        "--sample_every=2", "--log_every=1", "--grid_size=4",
        "--eval_every=2", "--eval_samples=10", "--eval_bn_batches=0", *common,
        timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    with open(os.path.join(workdir, "config.json")) as f:
      config = json.load(f)
    self.assertEqual((config["channels"], config["class_names"]),
                     (channels, list(CLASSES)))
    with open(os.path.join(workdir, "best", "best.json")) as f:
      best = json.load(f)
    self.assertEqual(best["split"], "validation")  # Selected on its own split.
    self.assertRegex(best["metric"], r"^fid_domain-[0-9a-f]{8}_\d+$")

    result = testutil.run_module(
        "slt_tf.evaluate", f"--workdir={workdir}", "--eval_samples=10",
        *common, timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    path = result.stdout.strip().splitlines()[-1].split("wrote ")[-1]
    report = testutil.strict_json(path)
    self.assertEqual(report["split"], "test")
    self.assertRegex(report["backbone"], r"^domain-[0-9a-f]{8}$")
    self.assertEqual(report["backbone"], best["metric"].split("_")[1])
    fid = report["metrics"][f"fid_{report['backbone']}_{report['n']}"]
    self.assertGreater(fid, 0)

    models = os.path.join(base, "models")
    result = testutil.run_module(
        "slt_tf.export", f"--workdir={workdir}", f"--export_dir={models}",
        "--model_name=mine", timeout=600)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    serve = tf.saved_model.load(os.path.join(models, "mine", "1")).signatures[
        "sample"]
    images = serve(num_images=tf.constant(2),
                   seed=tf.constant(0, tf.int64))["images"]
    self.assertEqual(images.shape, (2, 32, 32, channels))


if __name__ == "__main__":
  tf.test.main()
