"""The study's runner: which checkpoint is reported, with which batch-norm
statistics, on which split; and the report's tuning section (tiny real
searches of the embedded digits)."""

import dataclasses
import os

import tensorflow as tf

from slt_tf import runtime
from slt_tf import workdir as workdir_lib
from slt_tf.study import plan as plan_lib
from slt_tf.study import report
from slt_tf.study import runner
import testutil


class RunnerTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.runs = os.path.join(testutil.shared_dir("runner"), "runs")
    cls.base = testutil.tiny_config(cls.runs, train_steps=3, eval_every=1,
                                    eval_samples=20, checkpoint_every=1)

  def testBestCheckpointWithBn_ReportSplitRowAndReuse(self):
    setting = plan_lib.Setting("ticket", 0.1, 0)
    base = dataclasses.replace(self.base, eval_bn_batches=2)
    config = plan_lib.setting_config(base, setting, self.runs)
    row = runner.run_setting(config, setting, checkpoint="best")
    workdir = os.path.join(self.runs, setting.name)
    best = testutil.strict_json(workdir_lib.best_record_path(workdir))
    self.assertEqual((row["checkpoint"], row["bn_batches"], row["split"]),
                     ("best", 2, "test[50%:]"))
    self.assertEqual(row["steps"], best["step"])
    path = os.path.join(workdir, "eval",
                        f"step_{best['step']:07d}_bn_test_50pctto.json")
    stamp = os.path.getmtime(path)
    last = runner.run_setting(
        plan_lib.setting_config(self.base, setting, self.runs), setting)
    self.assertEqual((last["checkpoint"], last["bn_batches"], last["steps"]),
                     ("last", 0, 3))
    again = runner.run_setting(config, setting, checkpoint="best")
    self.assertEqual(again, row)
    self.assertEqual(os.path.getmtime(path), stamp)  # Reused, not redone.

    rows = [row, dict(last, method="dense", keep_ratio=1.0)]
    tuning_rows = [{"pilot": "shared", "flags": "", "method": "ticket",
                    "keep_ratio": 0.1, "seed": s, "variant": "last",
                    "fid": f, "precision": 0.5, "recall": 0.5,
                    "train_steps": 3, "split": "test[:50%]",
                    "backbone": "digits", "n": 20}
                   for s, f in ((0, 30.0), (1, 50.0))]
    out = self.get_temp_dir()
    md = os.path.join(out, "RESULTS.md")
    report.write_report(base, rows, os.path.join(out, "r.json"),
                        os.path.join(out, "results"), md, "cmd", tuning_rows)
    text = open(md).read()
    self.assertIn("last or best checkpoint, its batch-norm statistics "
                  "re-estimated on 0/2 batches", text)
    self.assertIn("## Tuning pilots", text)
    self.assertIn("| shared | `(shared)` | ticket | last | 3 | 2 | 40.0 ± 14.1",
                  text)
    report.write_report(base, rows[:1], os.path.join(out, "r.json"),
                        os.path.join(out, "results"), md, "cmd")
    text = open(md).read()
    self.assertIn("the best checkpoint on the selection split", text)
    self.assertNotIn("## Tuning pilots", text)

  def testMethodBases_OwnFlagsForOneMethodRecordedInItsRows(self):
    plan = [plan_lib.Setting("ticket", 0.1, 1), plan_lib.Setting("dense", 1.0, 1)]
    dense = dataclasses.replace(self.base, learning_rate=5e-3)
    rows = runner.run_plan(self.base, plan, self.runs,
                           method_bases={"dense": dense},
                           method_flags={"dense": "--learning_rate=5e-3"})
    self.assertEqual([r["flags"] for r in rows], ["", "--learning_rate=5e-3"])
    rates = [workdir_lib.read_config(r["run"]).learning_rate for r in rows]
    self.assertEqual(rates, [self.base.learning_rate, 5e-3])
    out = self.get_temp_dir()
    md = os.path.join(out, "R.md")
    report.write_report(self.base, rows, os.path.join(out, "r.json"),
                        os.path.join(out, "results"), md)
    self.assertIn("replace the shared ones for one method: dense: "
                  "`--learning_rate=5e-3`", open(md).read())

  def testStoredRows_ReusedWithoutTheWorkdirOnlyForTheSameConfig(self):
    plan = [plan_lib.Setting("ticket", 0.5, 2)]
    runs = os.path.join(self.get_temp_dir(), "runs")
    rows = runner.run_plan(self.base, plan, runs)
    self.assertEqual(rows[0]["config"], plan_lib.setting_config(
        self.base, plan[0], runs).outcome())
    self.assertEqual(rows[0]["machine"], runtime.machine_name())
    # A new checkout: the rows are there, the workdirs are not.
    os.rename(runs, runs + ".gone")
    again = runner.run_plan(self.base, plan, runs, stored=rows)
    self.assertEqual(again, rows)
    self.assertFalse(os.path.exists(runs))
    # Another configuration, or another reported checkpoint, runs again.
    other = dataclasses.replace(self.base, learning_rate=1e-2)
    self.assertIsNone(runner.stored_row(rows, plan[0], plan_lib.setting_config(
        other, plan[0], runs)))
    self.assertIsNone(runner.stored_row(rows, plan[0], plan_lib.setting_config(
        self.base, plan[0], runs), checkpoint="best"))
    self.assertIsNone(runner.stored_row(
        [dict(rows[0], config=None)], plan[0],
        plan_lib.setting_config(self.base, plan[0], runs)))
    rerun = runner.run_plan(other, plan, runs, stored=rows)
    self.assertTrue(os.path.isdir(os.path.join(runs, plan[0].name)))
    self.assertEqual(rerun[0]["config"]["learning_rate"], 1e-2)

  def testBestWithoutEvalEvery_Refused(self):
    base = dataclasses.replace(self.base, eval_every=0)
    with self.assertRaisesRegex(ValueError, "^report_checkpoint: 'best' needs"):
      runner.run_plan(base, [], self.runs, checkpoint="best")
    with self.assertRaisesRegex(ValueError, "^report_checkpoint must be"):
      runner.run_plan(base, [], self.runs, checkpoint="first")


if __name__ == "__main__":
  tf.test.main()
