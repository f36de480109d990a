"""End-to-end tests of ``python -m slt_tf.tune``, the tuning pilots (real
subprocesses, real searches and evaluations)."""

import glob
import os

import tensorflow as tf

import testutil
from testutil import strict_json


class TuneCliTest(tf.test.TestCase):

  def _tune(self, tune_dir, *args):
    return testutil.run_module(
        "slt_tf.tune", "--flagfile=configs/demo.cfg", f"--tune_dir={tune_dir}",
        f"--results_json={tune_dir}/tuning.json",
        f"--results_md={tune_dir}/tuning.md", "--width=4", "--train_steps=2",
        "--checkpoint_every=1", "--eval_every=1", "--eval_samples=20",
        "--eval_bn_batches=0",
        "--batch_size=8", "--max_real_images=128", "--tune_bn_batches=2",
        "--seeds=0", "--pilot=shared",
        "--pilot=fast --learning_rate=1e-2 --only=ticket",
        f"--data_dir={testutil.data_dir()}",
        f"--cache_dir={testutil.cache_dir()}", *args, timeout=900)

  def testTinyPilots_SelectionSplitOnlyEveryVariantAndResume(self):
    tune_dir = os.path.join(self.get_temp_dir(), "tune")
    result = self._tune(tune_dir)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    rows = strict_json(os.path.join(tune_dir, "tuning.json"))
    runs = sorted({(r["pilot"], r["method"], r["seed"]) for r in rows})
    self.assertEqual(runs, [("fast", "ticket", 0), ("shared", "dense", 0),
                            ("shared", "ticket", 0)])
    self.assertLen(rows, 3 * 4)
    self.assertTrue(all(r["split"] == "test[:50%]" for r in rows))
    for r in rows:
      self.assertGreater(r["fid"], 0)
      self.assertIn("cores)", r["machine"])
    workdirs = sorted(glob.glob(os.path.join(tune_dir, "runs", "*", "*")))
    self.assertLen(workdirs, 3)
    for workdir in workdirs:
      # Tuning never looks at the report split.
      self.assertEqual(os.listdir(os.path.join(workdir, "eval")),
                       ["selection"])
      names = os.listdir(os.path.join(workdir, "eval", "selection"))
      self.assertLen([n for n in names if n.startswith("tune_")], 4)
      best = strict_json(os.path.join(workdir, "best", "best.json"))
      row = next(r for r in rows if r["run"] == workdir
                 and r["variant"] == "best")
      self.assertEqual(row["step"], best["step"])
    fast = {r["variant"]: r for r in rows if r["pilot"] == "fast"}
    self.assertNotEqual(fast["last"]["fid"], fast["last_bn"]["fid"])
    table = open(os.path.join(tune_dir, "tuning.md")).read()
    self.assertIn("| fast | `--learning_rate=1e-2` | ticket | last_bn | 2 | 1 |",
                  table)
    self.assertLen([l for l in table.splitlines() if l.startswith("| ")
                    and "---" not in l and "pilot |" not in l], 12)

    # A rerun (here one shard of it) trains and evaluates nothing again.
    stamps = {p: os.path.getmtime(p) for p in glob.glob(
        os.path.join(tune_dir, "runs", "*", "*", "eval", "*", "tune_*"))}
    again = self._tune(tune_dir, "--shard=1/2")
    self.assertEqual(again.returncode, 0, again.stderr[-3000:])
    self.assertEqual(stamps, {p: os.path.getmtime(p) for p in stamps})
    self.assertEqual(strict_json(os.path.join(tune_dir, "tuning.json")), rows)

    # A new checkout has the rows, not the runs: nothing is run again.
    os.rename(os.path.join(tune_dir, "runs"), os.path.join(tune_dir, "gone"))
    fresh = self._tune(tune_dir)
    self.assertEqual(fresh.returncode, 0, fresh.stderr[-3000:])
    self.assertIn("skipped", fresh.stderr)
    self.assertEqual(glob.glob(os.path.join(tune_dir, "runs", "*", "*")), [])
    self.assertEqual(strict_json(os.path.join(tune_dir, "tuning.json")), rows)
    os.rename(os.path.join(tune_dir, "gone"), os.path.join(tune_dir, "runs"))

    # A shared flag changed: the pilot's stored rows and its workdir are
    # another run's; it is searched afresh (the old workdir set aside) and
    # its rows replaced. Shard 0/3 is the plan's first run only.
    changed = self._tune(tune_dir, "--ama_learning_rate=3e-5", "--shard=0/3")
    self.assertEqual(changed.returncode, 0, changed.stderr[-3000:])
    redone = strict_json(os.path.join(tune_dir, "tuning.json"))
    first = ("shared", "ticket", 0)
    key = lambda r: (r["pilot"], r["method"], r["seed"])
    self.assertEqual([r for r in redone if key(r) != first],
                     [r for r in rows if key(r) != first])
    new = [r for r in redone if key(r) == first]
    self.assertLen(new, 4)
    self.assertTrue(all(r["config"]["ama_learning_rate"] == 3e-5 for r in new))
    workdir = new[0]["run"]
    self.assertTrue(os.path.isdir(workdir + ".stale-1"))
    self.assertEqual(strict_json(os.path.join(
        workdir, "config.json"))["ama_learning_rate"], 3e-5)

  def testBadPilotOrShard_OneLineErrorBeforeAnyRun(self):
    tune_dir = os.path.join(self.get_temp_dir(), "bad")
    cases = (
        (["--pilot=p --seed=3"], "^error: --pilot p: seed is set by the plan"),
        (["--pilot=p --width=0"], "^error: --pilot p: width must be"),
        (["--pilot=a", "--pilot=a"], "^error: --pilot names must differ"),
        (["--shard=2/2"], "^error: --shard must be I/N"),
        (["--methods=random_mask"], "^error: --methods must be among"))
    results = testutil.entry_cases("slt_tf.tune", [
        ("--flagfile=configs/demo.cfg", f"--tune_dir={tune_dir}",
         f"--results_json={tune_dir}/t.json",
         f"--data_dir={testutil.data_dir()}", *args) for args, _ in cases])
    for (args, expected), result in zip(cases, results):
      self.assertNotEqual(result["status"], 0, args)
      self.assertIsNone(result["traceback"], args)
      self.assertRegex(result["stderr"].strip().splitlines()[-1], expected)
    self.assertFalse(os.path.exists(os.path.join(tune_dir, "runs")))


if __name__ == "__main__":
  tf.test.main()
