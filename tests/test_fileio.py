"""Atomic writes and the shared rows file of sharded studies and pilots."""

import fcntl
import json
import os
import subprocess
import sys

import tensorflow as tf

from slt_tf import fileio
import testutil

# One process's share: 25 rows merged one at a time, as a shard merges its
# row after each run.
_MERGE = """
import sys
from slt_tf import fileio
path, tag = sys.argv[1], sys.argv[2]
for i in range(25):
  fileio.merge_json_rows(path, [{"tag": tag, "i": i}],
                         key=lambda r: (r["tag"], r["i"]))
"""


class FileioTest(tf.test.TestCase):

  def testWriteJson_StrictAndAtomic(self):
    path = os.path.join(self.get_temp_dir(), "a", "v.json")
    fileio.write_json(path, {"x": float("nan"), "y": [1.5, float("inf")]})
    self.assertEqual(testutil.strict_json(path), {"x": None, "y": [1.5, None]})
    self.assertEqual([n for n in os.listdir(os.path.dirname(path))
                      if n.startswith(".tmp-")], [])

  def testWriteAtomic_PermissionsOfAPlainOpenUnderTheUmask(self):
    directory = self.get_temp_dir()
    for umask, expected in ((0o022, 0o644), (0o077, 0o600)):
      old = os.umask(umask)
      try:
        path = os.path.join(directory, f"out_{umask:o}.json")
        fileio.write_json(path, {"a": 1})
        with open(os.path.join(directory, f"plain_{umask:o}"), "wb"):
          pass
      finally:
        os.umask(old)
      self.assertEqual(os.stat(path).st_mode & 0o777, expected)
      self.assertEqual(
          os.stat(os.path.join(directory, f"plain_{umask:o}")).st_mode
          & 0o777, expected)

  def testMergeRows_ReplacesInPlaceAppendsAndDropsUnplanned(self):
    path = os.path.join(self.get_temp_dir(), "sub", "rows.json")
    key = lambda r: (r["m"], r["s"])
    fileio.merge_json_rows(path, [{"m": "a", "s": 0, "v": 1},
                                  {"m": "b", "s": 0, "v": 2}], key)
    rows = fileio.merge_json_rows(path, [{"m": "a", "s": 0, "v": 3},
                                         {"m": "c", "s": 1, "v": 4}], key)
    self.assertEqual(rows, [{"m": "a", "s": 0, "v": 3},
                            {"m": "b", "s": 0, "v": 2},
                            {"m": "c", "s": 1, "v": 4}])
    self.assertEqual(testutil.strict_json(path), rows)
    kept = fileio.merge_json_rows(path, [], key, keep=lambda r: r["m"] != "b")
    self.assertEqual([r["m"] for r in kept], ["a", "c"])
    self.assertEqual(testutil.strict_json(path), kept)

  def testMergeRowsThen_RunsOnAllRowsWhileTheFileIsLocked(self):
    """A shard's report is written inside its merge's turn: written after
    the lock, a shard that merged earlier could overwrite the report of one
    that merged later (seen: a study report one row short)."""
    path = os.path.join(self.get_temp_dir(), "rows.json")
    key = lambda r: (r["m"],)
    fileio.merge_json_rows(path, [{"m": "a"}], key)
    seen = []

    def then(rows):
      with open(path + ".lock", "a") as other:  # Another turn, as a shard.
        with self.assertRaises(BlockingIOError):
          fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
      seen.append([r["m"] for r in rows])

    rows = fileio.merge_json_rows(path, [{"m": "b"}], key, then=then)
    self.assertEqual(seen, [["a", "b"]])
    self.assertEqual([r["m"] for r in rows], ["a", "b"])

  def testMergeRows_TwoProcessesAtOnceLoseNoRow(self):
    path = os.path.join(self.get_temp_dir(), "shared.json")
    procs = [subprocess.Popen([sys.executable, "-c", _MERGE, path, tag],
                              cwd=testutil.REPO) for tag in ("x", "y")]
    self.assertEqual([p.wait(timeout=120) for p in procs], [0, 0])
    with open(path) as f:
      rows = json.load(f)
    self.assertLen(rows, 50)
    self.assertCountEqual({(r["tag"], r["i"]) for r in rows},
                          {(t, i) for t in "xy" for i in range(25)})


if __name__ == "__main__":
  tf.test.main()
