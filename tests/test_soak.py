"""Soak: host memory stays flat over a long search (slow; opt-in).

Runs ``bench/soak.py`` (the demo search with evaluations every 250 steps and
checkpoints every 100) for 2,000 steps, several minutes on 2 cores, so it is
skipped unless ``SLT_TF_SLOW=1``:

  SLT_TF_SLOW=1 python -m pytest tests/test_soak.py
"""

import json
import os
import unittest

import testutil


@unittest.skipUnless(os.environ.get("SLT_TF_SLOW") == "1",
                     "slow: set SLT_TF_SLOW=1 to run")
class SoakTest(unittest.TestCase):

  def testLongSearch_MemoryFlatAfterWarmUp(self):
    result = testutil.run_python(
        os.path.join(testutil.REPO, "bench", "soak.py"), "--train_steps=2000",
        timeout=1800)
    self.assertEqual(result.returncode, 0, result.stderr[-3000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    self.assertEqual(report["final_step"], 2000)
    # Before the fix of per-evaluation tf.functions this grew ~0.05 MB/step.
    self.assertLess(report["rss_growth_mb"], 25, report)


if __name__ == "__main__":
  unittest.main()
