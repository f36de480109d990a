"""End-to-end tests of ``python -m slt_tf.study`` (real subprocesses, real files)."""

import os
import signal

import tensorflow as tf

from slt_tf import fileio
import testutil
from testutil import strict_json


class StudyCommandTest(tf.test.TestCase):

  def testTinyStudy_RowsReportFiguresAndResume(self):
    base = self.get_temp_dir()
    results = os.path.join(base, "results")
    report = os.path.join(base, "RESULTS.md")
    args = ["--flagfile=configs/study_cpu.cfg", f"--study_dir={base}/study",
            f"--results_dir={results}", f"--results_md={report}",
            "--width=4", "--train_steps=2", "--checkpoint_every=2",
            "--sample_every=2", "--log_every=1", "--eval_samples=40",
            "--eval_every=2", "--eval_bn_batches=1",
            "--batch_size=8", "--max_real_images=128", "--d_width=4",
            "--ticket_keep_ratios=0.1,0.5", "--seeds=0,1",
            f"--data_dir={testutil.data_dir()}",
            f"--cache_dir={testutil.shared_dir('cache')}"]
    # Two shards at once share the plan and the results file.
    shards = [testutil.start_module("slt_tf.study", *args, f"--shard={i}/2")
              for i in range(2)]
    for shard in shards:
      _, stderr = shard.communicate(timeout=900)
      self.assertEqual(shard.returncode, 0, stderr[-3000:])
    rows = strict_json(os.path.join(results, "cpu_reproduction.json"))
    self.assertLen(rows, 2 * 6)
    self.assertCountEqual(
        {(r["method"], r["keep_ratio"]) for r in rows},
        {("ticket", 0.1), ("ticket", 0.5), ("dense", 1.0),
         ("random_mask", 0.1), ("random_dense", 1.0),
         ("adversarial_ticket", 0.1)})
    for r in rows:
      for key in ("method", "keep_ratio", "seed", "fid", "precision",
                  "recall", "density", "coverage", "steps", "backbone"):
        self.assertIn(key, r)
      self.assertEqual((r["steps"], r["backbone"], r["split"], r["n"]),
                       (2, "digits", "test[50%:]", 40))
      self.assertGreater(r["fid"], 0)
    text = open(report).read()
    self.assertIn("| ticket | 0.1 | 2 | 2 |", text)
    self.assertIn("random_mask/ticket", text)
    self.assertIn("Runs made on: ", text)
    for name in ("fid_vs_keep_ratio.png", "loss_curves.png",
                 "samples/real.png", "samples/adversarial_ticket_k0.1.png"):
      path = os.path.join(results, name)
      self.assertTrue(os.path.exists(path), name)
      self.assertIn(os.path.relpath(path, base), text)
      image = tf.io.decode_png(open(path, "rb").read())
      self.assertGreater(int(image.shape[0]), 30)

    # A hand-written discussion survives; a rerun trains and evaluates nothing.
    marked = text.replace("(Write the discussion here; regenerating the "
                          "report keeps it.)", "Our discussion.")
    self.assertNotEqual(marked, text)
    with open(report, "w") as f:
      f.write(marked)
    evals = sorted(os.listdir(os.path.join(rows[0]["run"], "eval")))
    again = testutil.run_module("slt_tf.study", *args, timeout=900)
    self.assertEqual(again.returncode, 0, again.stderr[-3000:])
    self.assertIn("Our discussion.", open(report).read())
    self.assertEqual(sorted(os.listdir(os.path.join(rows[0]["run"], "eval"))),
                     evals)
    self.assertIn("stored, skipped", again.stderr)
    self.assertEqual(
        strict_json(os.path.join(results, "cpu_reproduction.json")), rows)

    # A new checkout has the results, not the runs: nothing is run again and
    # the report keeps its grids and curves.
    os.rename(os.path.join(base, "study"), os.path.join(base, "gone"))
    curves = open(os.path.join(results, "loss_curves.png"), "rb").read()
    fresh = testutil.run_module("slt_tf.study", *args, timeout=900)
    self.assertEqual(fresh.returncode, 0, fresh.stderr[-3000:])
    self.assertEqual(os.listdir(os.path.join(base, "study", "runs")), [])
    self.assertEqual(
        strict_json(os.path.join(results, "cpu_reproduction.json")), rows)
    self.assertEqual(open(os.path.join(results, "loss_curves.png"),
                          "rb").read(), curves)
    self.assertIn("samples/adversarial_ticket_k0.1.png", open(report).read())

    # A row of other flags (an earlier study's) is dropped, not shown, also
    # by a shard that does not run its setting.
    stale = next(r for r in rows if (r["method"], r["keep_ratio"], r["seed"])
                 == ("ticket", 0.1, 0))
    fileio.write_json(os.path.join(results, "cpu_reproduction.json"),
                      [dict(r, config="0" * 16) if r is stale else r
                       for r in rows])
    other = testutil.run_module("slt_tf.study", *args, "--shard=1/2",
                                timeout=900)
    self.assertEqual(other.returncode, 0, other.stderr[-3000:])
    self.assertEqual(os.listdir(os.path.join(base, "study", "runs")), [])
    self.assertEqual(
        strict_json(os.path.join(results, "cpu_reproduction.json")),
        [r for r in rows if r is not stale])

  def testSigterm_StopsThePlanWithNoRowForTheHalfDoneRun(self):
    """A study stopped mid-run exits as the search does (128 + SIGTERM),
    evaluates nothing and starts no further run; its rows would otherwise
    hold a half-done run, which a later session would take as finished."""
    base = self.get_temp_dir()
    results = os.path.join(base, "results")
    process = testutil.start_module(
        "slt_tf.study", "--flagfile=configs/study_cpu.cfg",
        f"--study_dir={base}/study", f"--results_dir={results}",
        f"--results_md={base}/RESULTS.md", "--width=4", "--batch_size=8",
        "--train_steps=100000", "--log_every=1", "--eval_samples=40",
        "--max_real_images=128", "--ticket_keep_ratios=0.1,0.5",
        "--baselines=", "--seeds=0", f"--data_dir={testutil.data_dir()}",
        f"--cache_dir={testutil.shared_dir('cache')}")
    lines = []
    for line in process.stderr:  # Wait until the first search is stepping.
      lines.append(line)
      if "step 4/100000" in line:
        break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=300)
    log = "".join(lines) + rest
    self.assertEqual(process.returncode, 128 + signal.SIGTERM, log[-2000:])
    self.assertIn("stopped by SIGTERM", log)
    self.assertNotIn("study: run 2/2", log)
    self.assertEqual(strict_json(os.path.join(results,
                                              "cpu_reproduction.json")), [])

  def testBadFlags_OneLineErrors(self):
    for flag, expected in (("--seeds=a", "^error: --seeds"),
                           ("--baselines=finetune", "^error: --baselines"),
                           ("--ticket_keep_ratios=2", "^error: --ticket_keep"),
                           ("--method=dense", "^error: --method"),
                           ("--eval_every=0",  # The flagfile reports best.
                            "^error: --report_checkpoint: 'best' needs"),
                           ("--tuning_json=/no/such.json",
                            "^error: --tuning_json: /no/such.json does not"),
                           ("--method_flags=dense --seed=1",
                            "^error: --method_flags: dense: seed is set by"),
                           ("--method_flags=dense --width=0",
                            "^error: --method_flags: dense: width must be"),
                           ("--method_flags=finetune --width=8",
                            "^error: --method_flags: 'finetune' is not a "
                            "method of the plan")):
      result = testutil.run_module(
          "slt_tf.study", "--flagfile=configs/study_cpu.cfg",
          f"--study_dir={self.get_temp_dir()}/s", flag)
      self.assertNotEqual(result.returncode, 0, flag)
      self.assertRegex(result.stderr.strip().splitlines()[-1], expected)


if __name__ == "__main__":
  tf.test.main()
