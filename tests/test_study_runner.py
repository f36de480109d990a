"""The study's runner: which checkpoint is reported, with which batch-norm
statistics, on which split; and the report's tuning section (tiny real
searches of the embedded digits)."""

import dataclasses
import os

from absl import flags
import tensorflow as tf

from slt_tf import config_flags
from slt_tf import runtime
from slt_tf import workdir as workdir_lib
from slt_tf.study import pilots
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
    base = self.base.replace(eval_bn_batches=2)
    best_run, = plan_lib.study_runs(base, [setting], self.runs, "best")
    row, = runner.run_one(best_run)
    workdir = os.path.join(self.runs, setting.name)
    best = testutil.strict_json(workdir_lib.best_record_path(workdir))
    self.assertEqual((row["checkpoint"], row["bn_batches"], row["split"]),
                     ("best", 2, "test[50%:]"))
    self.assertEqual(row["steps"], best["step"])
    path = os.path.join(workdir, "eval", "report",
                        f"step_{best['step']:07d}_bn.json")
    stamp = os.path.getmtime(path)
    again, = runner.run_one(best_run)
    self.assertEqual(again, row)
    self.assertEqual(os.path.getmtime(path), stamp)  # Reused, not redone.
    # Other flags (no re-estimation, which also changes what the keeper
    # chose): the workdir is set aside and the run redone, not resumed.
    last, = runner.run_one(plan_lib.study_runs(self.base, [setting],
                                               self.runs)[0])
    self.assertEqual((last["checkpoint"], last["bn_batches"], last["steps"]),
                     ("last", 0, 3))
    self.assertTrue(os.path.exists(path.replace(workdir, workdir + ".stale-1")))
    self.assertFalse(os.path.exists(path))
    self.assertEqual(workdir_lib.read_config(workdir).eval.bn_batches, 0)

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
    dense = self.base.replace(learning_rate=5e-3)
    rows = runner.run_plan(plan_lib.study_runs(
        self.base, plan, self.runs, method_bases={"dense": dense},
        method_flags={"dense": "--learning_rate=5e-3"}))
    self.assertEqual([r["flags"] for r in rows], ["", "--learning_rate=5e-3"])
    rates = [workdir_lib.read_config(r["run"]).optim.learning_rate for r in rows]
    self.assertEqual(rates, [self.base.optim.learning_rate, 5e-3])
    out = self.get_temp_dir()
    md = os.path.join(out, "R.md")
    report.write_report(self.base, rows, os.path.join(out, "r.json"),
                        os.path.join(out, "results"), md)
    text = open(md).read()
    self.assertIn("replace the shared ones for one method: dense: "
                  "`--learning_rate=5e-3`", text)
    self.assertIn(f"Adam lr {self.base.optim.learning_rate:g}, ", text)
    report.write_report(self.base.replace(lr_schedule="cosine"), rows,
                        os.path.join(out, "r.json"),
                        os.path.join(out, "results"), md)
    self.assertIn(f"Adam lr {self.base.optim.learning_rate:g} decayed to 0 "
                  "by a cosine over the steps, ", open(md).read())
    # A baseline that trains nothing and stopped early is named with its steps.
    steps = self.base.optim.train_steps
    random_row = dict(rows[0], method="random_mask", train_steps=steps - 1)
    report.write_report(self.base, rows[:1] + [random_row],
                        os.path.join(out, "r.json"),
                        os.path.join(out, "results"), md)
    self.assertIn(f"{steps} steps for every method that trains (random_mask, "
                  f"which trains nothing, {steps - 1}: ", open(md).read())
    report.write_report(
        self.base, [random_row, dict(random_row, method="random_dense")],
        os.path.join(out, "r.json"), os.path.join(out, "results"), md)
    self.assertIn("(random_dense and random_mask, which train nothing, "
                  f"{steps - 1}: ", open(md).read())

  def testStoredRows_ReusedWithoutTheWorkdirOnlyForTheSameConfig(self):
    plan = [plan_lib.Setting("ticket", 0.5, 2)]
    runs = os.path.join(self.get_temp_dir(), "runs")
    planned = plan_lib.study_runs(self.base, plan, runs)
    rows = runner.run_plan(planned)
    self.assertEqual(rows[0]["config"], plan_lib.setting_config(
        self.base, plan[0], runs).outcome())
    self.assertEqual(rows[0]["machine"], runtime.machine_name())
    # A new checkout: the rows are there, the workdirs are not.
    os.rename(runs, runs + ".gone")
    again = runner.run_plan(planned, stored=rows)
    self.assertEqual(again, rows)
    self.assertFalse(os.path.exists(runs))
    # Another configuration, or another reported checkpoint, runs again.
    other = self.base.replace(learning_rate=1e-2)
    other_run, = plan_lib.study_runs(other, plan, runs)
    self.assertIsNone(runner.stored_rows(rows, other_run))
    self.assertIsNone(runner.stored_rows(
        rows, plan_lib.study_runs(self.base, plan, runs, "best")[0]))
    self.assertIsNone(runner.stored_rows([dict(rows[0], config=None)],
                                         planned[0]))
    rerun = runner.run_plan([other_run], stored=rows)
    self.assertTrue(os.path.isdir(os.path.join(runs, plan[0].name)))
    self.assertEqual(rerun[0]["config"]["learning_rate"], 1e-2)

  def testBestWithoutEvalEvery_Refused(self):
    base = self.base.replace(eval_every=0)
    with self.assertRaisesRegex(ValueError, "^report_checkpoint: 'best' needs"):
      plan_lib.study_runs(base, [], self.runs, "best")
    with self.assertRaisesRegex(ValueError, "^report_checkpoint must be"):
      plan_lib.study_runs(base, [], self.runs, "first")


class StoredRowsTest(tf.test.TestCase):
  """The one rule of what is not run again, on rows made by ``runner.row``
  from a stand-in evaluation result (no search runs here)."""

  def _row(self, run, evaluation):
    result = {"metrics": {"fid_digits_20": 10.0}, "step": 4,
              "backbone": "digits", "n": 20, "split": evaluation.split}
    return runner.row(run, evaluation, result)

  def testPilotRows_OnlyOfTheSameSharedFlagsEvaluationAndColumns(self):
    base = testutil.tiny_config("/tmp/unused", eval_every=2, eval_samples=20)
    pilot = pilots.parse_pilot("a", flags.FlagValues())
    run, = pilots.tuning_runs([pilot], ["ticket"], 0.1, [0], "/tmp/runs",
                              eval_seed=1, bn_batches=2,
                              flag_values=_flag_values_of(base))
    rows = [self._row(run, e) for e in run.evaluations]
    self.assertLen(rows, 4)
    self.assertEqual(runner.stored_rows(rows, run), rows)
    self.assertEqual(runner.stored_rows(rows[::-1], run), rows)
    self.assertIsNone(runner.stored_rows(rows[:3], run))
    # A shared flag changed since (the pilot's own flags are the same): the
    # stored rows are another run's.
    changed, = pilots.tuning_runs(
        [pilot], ["ticket"], 0.1, [0], "/tmp/runs", eval_seed=1, bn_batches=2,
        flag_values=_flag_values_of(base, ama_learning_rate=3e-5))
    self.assertIsNone(runner.stored_rows(rows, changed))
    longer = dict(rows[0]["config"], train_steps=99)
    for change in ({"flags": "--width=8"}, {"config": longer},
                   {"config": None}, {"split": "test[50%:]"}, {"seed": 1},
                   {"eval_seed": 0}, {"bn_batches": 3}, {"pilot": "b"}):
      self.assertIsNone(runner.stored_rows(
          [dict(r, **change) for r in rows], run), change)
    # Rows written before rows carried their configuration: not reused.
    self.assertIsNone(runner.stored_rows(
        [{k: v for k, v in r.items() if k != "config"} for r in rows], run))

  def testStudyRowsOfBefore_VariantsReadFromTheirCheckpoint(self):
    base = testutil.tiny_config("/tmp/unused", eval_every=2)
    run, = plan_lib.study_runs(base, [plan_lib.Setting("ticket", 0.1, 0)],
                               "/tmp/runs", "best")
    row = self._row(run, run.evaluations[0])
    old = {k: v for k, v in row.items()
           if k not in ("variant", "step", "train_steps", "eval_seed")}
    self.assertEqual(runner.stored_rows([old], run), [old])
    self.assertIsNone(runner.stored_rows([dict(old, checkpoint="last")], run))
    self.assertTrue(runner.belongs(old, [run]))
    self.assertFalse(runner.belongs(dict(old, seed=5), [run]))


def _flag_values_of(config, **changes):
  """Flags parsed from ``config``'s values (and ``changes``), as the tune
  command would have them."""
  values = flags.FlagValues()
  config_flags.define(flag_values=values)
  args = {"workdir": config.workdir, "dataset": config.data.dataset,
          "data_dir": config.data.data_dir, "features": config.features.extractor,
          "width": config.model.width, "eval_every": config.eval.every,
          "eval_samples": config.eval.num_samples, "cache_dir": config.data.cache_dir,
          **changes}
  values(["prog"] + [f"--{k}={v}" for k, v in args.items()])
  return values

if __name__ == "__main__":
  tf.test.main()
