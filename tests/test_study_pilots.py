"""Tuning pilots: the pilots file and the --pilot text, the plan and its
shards, the shared results file, stored rows and the table (the runs
themselves: tests/e2e/test_tune_cli.py)."""

import os

from absl import flags
import numpy as np
import tensorflow as tf

from slt_tf import config_flags
from slt_tf import fileio
from slt_tf.data import datasets
from slt_tf.study import plan as plan_lib
from slt_tf.study import pilots
from slt_tf.study import report
import testutil


def _flag_values(*args):
  values = flags.FlagValues()
  config_flags.define(flag_values=values)
  values(["prog", "--workdir=/tmp/unused", f"--dataset={datasets.EMBEDDED}",
          f"--data_dir={testutil.data_dir()}", "--arch=gfmn",
          "--resolution=32", "--last_dense", *args])
  return values


def _row(pilot, method, seed, variant, fid, **extra):
  return {"pilot": pilot, "flags": "", "method": method, "keep_ratio": 0.1,
          "seed": seed, "variant": variant, "fid": fid, "precision": 0.5,
          "recall": 0.5, "train_steps": 10, "split": "test[:50%]",
          "backbone": "digits", "n": 20, **extra}


class ParsePilotTest(tf.test.TestCase):

  def testPilot_FlagsBoolsAndOnly(self):
    values = _flag_values()
    pilot = pilots.parse_pilot(
        "p1 --learning_rate=5e-4 --nolast_dense --width=64 --only=ticket",
        values)
    self.assertEqual(pilot.name, "p1")
    self.assertEqual(dict(pilot.overrides),
                     {"learning_rate": 5e-4, "last_dense": False, "width": 64})
    self.assertEqual(pilot.only, ("ticket",))
    self.assertEqual(pilot.flags,
                     "--learning_rate=5e-4 --nolast_dense --width=64")
    self.assertEqual(pilots.parse_pilot("shared", values).overrides, ())
    self.assertEqual(dict(pilots.parse_pilot("b --last_dense", values)
                          .overrides), {"last_dense": True})

  def testBadPilot_NamesThePilotAndTheProblem(self):
    values = _flag_values()
    for text, expected in (
        ("", "^pilot '': expected a name"),
        ("--learning_rate=1", "^pilot .*expected a name"),
        ("a/b", "^pilot 'a/b': the name may hold only"),
        ("p learning_rate=1", "^pilot p: 'learning_rate=1' is not a --flag"),
        ("p --no_such=1", "^pilot p: no_such is not a flag of the search"),
        ("p --seed=3", "^pilot p: seed is set by the plan"),
        ("p --keep_ratio=0.3", "^pilot p: keep_ratio is set by the plan"),
        ("p --width=big", "^pilot p: width: 'big' is not a valid value"),
        ("p --only=tickets", "^pilot p: method must be one of")):
      with self.assertRaisesRegex(ValueError, expected, msg=text):
        pilots.parse_pilot(text, values)

  def testPilotConfig_OverridesReachTheConfigAndTheTicket(self):
    values = _flag_values("--learning_rate=2e-4")
    pilot = pilots.parse_pilot("p --learning_rate=1e-3 --nolast_dense",
                               values)
    config = pilots.run_config(pilot, plan_lib.Setting("ticket", 0.1, 4),
                               "/tmp/runs", values)
    self.assertEqual(config.optim.learning_rate, 1e-3)
    self.assertFalse(config.ticket.last_dense)
    self.assertEqual((config.ticket.seed, config.ticket.keep_ratio),
                     (4, 0.1))
    self.assertEqual(config.workdir, "/tmp/runs/p/ticket_k0.1_s4")
    shared = pilots.run_config(pilots.parse_pilot("s", values),
                               plan_lib.Setting("dense", 1.0, 0), "/r", values)
    self.assertEqual((shared.optim.learning_rate, shared.method), (2e-4, "dense"))
    self.assertTrue(shared.ticket.last_dense)
    with self.assertRaisesRegex(ValueError, "^pilot q: width"):
      pilots.pilot_config(pilots.parse_pilot("q --width=0", values), values)


class PilotsFileTest(tf.test.TestCase):

  def testTuneCpuPilots_TheSameFlagsAsWrittenAndBothMethodsGetAsMany(self):
    values = _flag_values()
    cfg = open(os.path.join(testutil.REPO, "configs", "tune_cpu.cfg")).read()
    self.assertIn("--pilots=configs/tune_cpu_pilots.json", cfg)
    chosen = pilots.load_pilots(os.path.join(
        testutil.REPO, "configs", "tune_cpu_pilots.json"), values)
    self.assertGreaterEqual(len(chosen), 8)
    by_name = {p.name: p for p in chosen}
    # The flags as the rows of earlier pilots name them.
    self.assertEqual(by_name["lr5e-4"].flags, "--learning_rate=5e-4")
    self.assertEqual(by_name["steps3k"].flags,
                     "--train_steps=3000 --checkpoint_every=500")
    self.assertEqual((by_name["prune_last"].flags, by_name["prune_last"].only),
                     ("--nolast_dense", ("ticket",)))
    self.assertEqual(dict(by_name["lr5e-4"].overrides),
                     {"learning_rate": 5e-4})
    for pilot in chosen:
      pilots.pilot_config(pilot, values)
    plan = pilots.tuning_plan(chosen, ["ticket", "dense"], 0.1, [0, 1])
    methods = [s.method for _, s in plan]
    self.assertEqual(methods.count("ticket"), methods.count("dense"))

  def testBadPilotsFile_OneLineNamingTheFileAndThePilot(self):
    values = _flag_values()
    path = os.path.join(self.get_temp_dir(), "p.json")
    for text, expected in (
        ("[1]", "must hold"),
        ("{\"pilots\": []}", "must hold"),
        ("not json", "is not JSON"),
        ("{\"pilots\": [{\"flags\": {}}]}", "must be an object with a"),
        ("{\"pilots\": [{\"name\": \"a\", \"flag\": {}}]}",
         "a: unknown keys \\['flag'\\]"),
        ("{\"pilots\": [{\"name\": \"a\", \"flags\": {\"seed\": 2}}]}",
         "a: seed is set by the plan"),
        ("{\"pilots\": [{\"name\": \"a\", \"flags\": {\"width\": \"x\"}}]}",
         "a: width: 'x' is not a valid value"),
        ("{\"pilots\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
         "pilot names must differ")):
      with open(path, "w") as f:
        f.write(text)
      with self.assertRaisesRegex(ValueError, f"^pilots: .*{expected}",
                                  msg=text):
        pilots.load_pilots(path, values)
    with self.assertRaisesRegex(ValueError, "^pilots: cannot read /no/such"):
      pilots.load_pilots("/no/such.json", values)


class PlanTest(tf.test.TestCase):

  def testPlan_EveryPilotMethodAndSeedOnlyLimitsAndShardsPartition(self):
    values = _flag_values()
    chosen = [pilots.parse_pilot("a", values),
              pilots.parse_pilot("b --nolast_dense --only=ticket", values)]
    plan = pilots.tuning_plan(chosen, ["ticket", "dense"], 0.1, [0, 1])
    self.assertEqual([(p.name, s.name) for p, s in plan],
                     [("a", "ticket_k0.1_s0"), ("a", "ticket_k0.1_s1"),
                      ("a", "dense_k1_s0"), ("a", "dense_k1_s1"),
                      ("b", "ticket_k0.1_s0"), ("b", "ticket_k0.1_s1")])
    shards = [plan_lib.shard(plan, i, 2) for i in range(2)]
    self.assertLen(shards[0] + shards[1], len(plan))
    self.assertCountEqual(shards[0] + shards[1], plan)
    for index, count in ((2, 2), (-1, 2), (0, 0)):
      with self.assertRaisesRegex(ValueError, "^shard must be I/N"):
        plan_lib.shard(plan, index, count)


class ResultsTest(tf.test.TestCase):

  def testRowKey_AMergeReplacesTheSameRunAndVariant(self):
    path = os.path.join(self.get_temp_dir(), "sub", "rows.json")
    merge = lambda rows: fileio.merge_json_rows(path, rows, pilots.row_key)
    merge([_row("a", "ticket", 0, "last", 10.0),
           _row("a", "ticket", 0, "best", 9.0)])
    rows = merge([_row("a", "ticket", 0, "last", 7.0),
                  _row("a", "dense", 0, "last", 5.0)])
    self.assertEqual([(r["method"], r["variant"], r["fid"]) for r in rows],
                     [("ticket", "last", 7.0), ("ticket", "best", 9.0),
                      ("dense", "last", 5.0)])
    self.assertEqual(testutil.strict_json(path), rows)
    self.assertEqual(merge([]), rows)

  def testTuningRuns_EveryVariantOnTheSelectionSplitWithTheEvalSeed(self):
    values = _flag_values("--train_steps=10", "--eval_samples=20",
                          "--eval_every=5", "--eval_bn_batches=0")
    pilot = pilots.parse_pilot("a --learning_rate=1e-3", values)
    runs = pilots.tuning_runs([pilot], ["ticket"], 0.1, [0], "/tmp/runs",
                              eval_seed=3, bn_batches=2, flag_values=values)
    self.assertLen(runs, 1)
    run = runs[0]
    self.assertEqual(run.columns, {"pilot": "a", "method": "ticket",
                                   "keep_ratio": 0.1, "seed": 0,
                                   "flags": "--learning_rate=1e-3"})
    self.assertEqual(run.config.workdir, "/tmp/runs/a/ticket_k0.1_s0")
    self.assertEqual(
        [(e.variant, e.checkpoint, e.split, e.settings.seed,
          e.settings.bn_batches, e.settings.num_samples, e.label)
         for e in run.evaluations],
        [("last", "latest", "test[:50%]", 3, 0, 20, "tune_last"),
         ("last_bn", "latest", "test[:50%]", 3, 2, 20, "tune_last_bn"),
         ("best", "best", "test[:50%]", 3, 0, 20, "tune_best"),
         ("best_bn", "best", "test[:50%]", 3, 2, 20, "tune_best_bn")])
    no_best = pilots.tuning_runs([pilot], ["ticket"], 0.1, [0], "/tmp/runs",
                                 flag_values=_flag_values("--eval_every=0"))
    self.assertEqual([e.variant for e in no_best[0].evaluations],
                     ["last", "last_bn"])

  def testSummary_MeanAndSampleStdPerPilotMethodVariant(self):
    rows = [_row("a", "ticket", s, "last", f) for s, f in ((0, 40.0), (1, 60.0),
                                                           (2, 47.0))]
    rows += [_row("a", "ticket", s, "best", f) for s, f in ((0, 30.0),
                                                            (1, 35.0))]
    rows += [_row("b", "ticket", 0, "last", 10.0)]  # One seed: not chosen.
    rows += [_row("a", "dense", s, "last", f) for s, f in ((0, 20.0),
                                                           (1, 22.0))]
    entries = report.pilots_summary(rows)
    first = entries[0]
    self.assertEqual((first["pilot"], first["method"], first["variant"]),
                     ("a", "ticket", "last"))
    self.assertAllClose(first["fid"], np.mean([40, 60, 47]))
    self.assertAllClose(first["fid_std"], np.std([40, 60, 47], ddof=1))
    self.assertEqual(first["fids"], [40.0, 60.0, 47.0])
    self.assertIsNone(entries[2]["fid_std"])
    best = report.chosen(entries)
    self.assertEqual((best["ticket"]["pilot"], best["ticket"]["variant"]),
                     ("a", "best"))
    self.assertAllClose(best["dense"]["fid"], 21.0)
    table = report.pilots_table(rows)
    self.assertIn("| a | `(shared)` | ticket | last | 10 | 3 | 49.0 ± 10.1 |",
                  table)
    self.assertIn("- ticket: pilot `a`", table)
    self.assertIn("No tuning runs", report.pilots_table([]))


if __name__ == "__main__":
  tf.test.main()
