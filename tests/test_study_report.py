"""The study's report: summaries, targets and the sweep's table."""

import os

import numpy as np
import tensorflow as tf

from slt_tf.study import report
from slt_tf.study import runner
import testutil


class SummaryTest(tf.test.TestCase):

  def testSummary_MeanAndSampleStdPerMethodAndKeepRatio(self):
    rng = np.random.RandomState(0)
    rows = [dict(method=m, keep_ratio=k, seed=s, steps=5,
                 **{name: float(rng.rand()) for name in runner.METRICS})
            for m, k in (("ticket", 0.1), ("ticket", 0.5), ("dense", 1.0))
            for s in range(3)]
    entries = {(e["method"], e["keep_ratio"]): e
               for e in report.summary(rows)}
    for (method, keep), entry in entries.items():
      fids = [r["fid"] for r in rows
              if r["method"] == method and r["keep_ratio"] == keep]
      self.assertAllClose(entry["fid"], np.mean(fids))
      self.assertAllClose(entry["fid_std"], np.std(fids, ddof=1))
      self.assertEqual(entry["seeds"], 3)
      self.assertEqual(entry["fid_per_seed"], [
          (r["seed"], r["fid"]) for r in rows
          if r["method"] == method and r["keep_ratio"] == keep])
    table = report.summary_table(report.summary(rows[::-1]), "digits", 500)
    dense = [line for line in table.splitlines()
             if line.startswith("| dense |")]
    self.assertLen(dense, 1)
    # Each seed's FID, in seed order whatever the rows' order.
    self.assertTrue(dense[0].endswith(" | " + ", ".join(
        f"s{r['seed']} {r['fid']:.1f}" for r in rows
        if r["method"] == "dense") + " |"), dense[0])
    # Ticket rows come before the baselines, in METHODS order.
    self.assertEqual([e["method"] for e in report.summary(rows)],
                     ["ticket", "ticket", "dense"])

  def testSeedStats_MeanAndSampleStdOfFiniteValuesOnly(self):
    members = [{"fid": 10.0, "kid": None}, {"fid": 14.0, "kid": 2.0},
               {"fid": float("nan"), "kid": 3.0}, {"fid": 18.0}]
    stats = runner.seed_stats(members, ("fid", "kid", "recall"))
    self.assertAllClose(stats["fid"], 14.0)
    self.assertAllClose(stats["fid_std"], np.std([10, 14, 18], ddof=1))
    self.assertAllClose((stats["kid"], stats["kid_std"]),
                        (2.5, np.std([2, 3], ddof=1)))
    self.assertEqual((stats["recall"], stats["recall_std"]), (None, None))
    one = runner.seed_stats([{"fid": 5.0}], ("fid",))
    self.assertEqual((one["fid"], one["fid_std"]), (5.0, None))

  def testTargets_RatiosAndVerdicts(self):
    entries = [dict(method="ticket", keep_ratio=0.1, fid=21.0),
               dict(method="dense", keep_ratio=1.0, fid=20.0),
               dict(method="random_mask", keep_ratio=0.1, fid=50.0)]
    close, random = report.targets(entries)
    self.assertTrue(close["met"])
    self.assertIn("1.050", close["measured"])
    self.assertFalse(random["met"])  # 50 / 21 < 10.
    self.assertIn("2.38", random["measured"])
    entries[2]["fid"] = 250.0
    self.assertTrue(report.targets(entries)[1]["met"])  # 250 / 21 >= 10.
    entries[0]["fid"] = 22.5
    self.assertFalse(report.targets(entries)[0]["met"])  # 22.5 / 20 > 1.1.
    self.assertIsNone(report.targets(entries[:1])[0]["met"])


if __name__ == "__main__":
  tf.test.main()
