"""A newcomer's first hour, as the README walks it: the demo (shrunk to a
few steps, with its keeper), then ``evaluate`` and ``export`` with their
defaults. Real subprocesses and files."""

import glob
import json
import os
import re

import tensorflow as tf

import testutil
from testutil import strict_json


class FirstHourTest(tf.test.TestCase):

  def testDemoThenEvaluateAndExportWithDefaults_TheKeptTicketNamedPlainly(
      self):
    workdir = os.path.join(self.get_temp_dir(), "demo")
    search = testutil.run_module(
        "slt_tf.train", "--flagfile=configs/demo.cfg", f"--workdir={workdir}",
        "--width=4", "--max_real_images=256", "--batch_size=8",
        "--train_steps=4", "--checkpoint_every=2", "--eval_every=2",
        "--eval_samples=20", "--eval_bn_batches=1", "--log_every=1",
        "--sample_every=2", f"--data_dir={testutil.data_dir()}",
        f"--cache_dir={testutil.cache_dir()}")
    self.assertEqual(search.returncode, 0, search.stderr[-3000:])
    best = strict_json(os.path.join(workdir, "best", "best.json"))
    kept = os.path.join(workdir, "best", best["checkpoint"])

    # evaluate: the kept checkpoint, said in one line; N above the split's
    # size is capped and said too.
    evaluated = testutil.run_module(
        "slt_tf.evaluate", f"--workdir={workdir}", "--eval_samples=100000",
        f"--cache_dir={testutil.cache_dir()}")
    self.assertEqual(evaluated.returncode, 0, evaluated.stderr[-3000:])
    self.assertIn("checkpoint: the best one the search kept", evaluated.stderr)
    self.assertIn("--checkpoint=latest for the last", evaluated.stderr)
    self.assertIn("N=500: the split test[50%:] holds 500 images, fewer than "
                  "--eval_samples=100000", evaluated.stdout)
    written = evaluated.stdout.strip().splitlines()[-1]
    self.assertEqual(written, "wrote " + os.path.join(
        workdir, "eval", "report", f"step_{best['step']:07d}_bn.json"))
    self.assertEqual(strict_json(written[len("wrote "):])["checkpoint"], kept)

    # export: the same kept ticket.
    exported = testutil.run_module(
        "slt_tf.export", f"--workdir={workdir}",
        f"--export_dir={self.get_temp_dir()}/models", "--model_name=demo")
    self.assertEqual(exported.returncode, 0, exported.stderr[-3000:])
    self.assertIn("checkpoint: the best one the search kept", exported.stderr)
    self.assertEqual(json.loads(exported.stdout)["checkpoint"], kept)

    # No NaN printed by any command, nor written in any file.
    for output in (search, evaluated, exported):
      for text in (output.stdout, output.stderr):
        self.assertIsNone(re.search(r"\bnan\b", text, re.IGNORECASE),
                          text[-2000:])
    for path in glob.glob(os.path.join(workdir, "**", "*.json"),
                          recursive=True):
      for name, value in strict_json(path).get("metrics", {}).items():
        self.assertIsNotNone(value, f"{path}: {name}")

    # Runs and files are named by role; the split strings stay inside.
    runs = sorted(os.listdir(os.path.join(workdir, "tensorboard")))
    self.assertEqual(runs, ["report_bn", "search", "selection_bn"])
    self.assertEqual(sorted(os.listdir(os.path.join(workdir, "eval"))),
                     ["report", "selection"])
    for root, directories, files in os.walk(workdir):
      for name in directories + files:
        self.assertNotRegex(name, r"pct|\[|%", os.path.join(root, name))


if __name__ == "__main__":
  tf.test.main()
