r"""Runs the search over several keep ratios (and the dense baseline), then
evaluates each on the held-out report split and writes a table and a plot.

  python -m slt_tf.sweep --flagfile=configs/demo.cfg --sweep_dir=workdirs/sweep \
      --keep_ratios=0.05,0.1,0.3,0.5 --dense

Every search flag of ``slt_tf.train`` applies to all runs; each run gets
``SWEEP_DIR/ticket_k<k>_s<seed>`` (or ``SWEEP_DIR/dense_k1_s<seed>``) as its
workdir, so a rerun resumes them. Outputs: ``results.json``, ``results.md``
and ``fid_vs_keep_ratio.png`` in the sweep directory. ``slt_tf.study`` does
the same over every baseline and several seeds.
"""

import os
import sys
from typing import List, Sequence

from absl import app
from absl import flags
from absl import logging

from slt_tf import config_flags
from slt_tf import errors
from slt_tf import fileio
from slt_tf import study_lib
from slt_tf.config import TrainConfig


# The search's flags (listed in --helpshort); this front end's follow.
config_flags.define()
flags.adopt_module_key_flags(config_flags)

_SWEEP_DIR = flags.DEFINE_string("sweep_dir", None,
                                 "Directory of the runs and the results.")
_KEEP_RATIOS = flags.DEFINE_list("keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
                                 "Keep ratios of the ticket searches.")
_DENSE = flags.DEFINE_bool("dense", True, "Also run the dense baseline.")


def run_sweep(base: TrainConfig, keep_ratios: Sequence[float], dense: bool,
              sweep_dir: str) -> List[dict]:
  """Searches and evaluates each setting; writes and returns the table rows."""
  plan = study_lib.settings(keep_ratios, ["dense"] if dense else [], 1.0,
                            [base.seed])
  rows = []
  for setting in plan:
    config = study_lib.setting_config(base, setting, sweep_dir)
    logging.info("sweep: %s", setting.name)
    _, result = study_lib.search_and_evaluate(
        config, base.eval_samples, base.eval_backbone,
        base.eval_backbone_weights)
    rows.append({"run": setting.name, "mode": setting.method,
                 "keep_ratio": setting.keep_ratio, "steps": result["step"],
                 "split": result["split"], **result["metrics"]})
  write_results(rows, sweep_dir)
  return rows


def write_results(rows: List[dict], sweep_dir: str) -> None:
  """``results.json``, ``results.md`` and ``fid_vs_keep_ratio.png``."""
  fileio.write_json(os.path.join(sweep_dir, "results.json"), rows)
  metric_keys = [k for k in rows[0] if k not in
                 ("run", "mode", "keep_ratio", "steps", "split")]
  header = ["run", "mode", "keep ratio", "steps"] + metric_keys
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  for row in rows:
    cells = [row["run"], row["mode"], f"{row['keep_ratio']:g}",
             str(row["steps"])]
    cells += ["n/a" if row[k] is None or row[k] != row[k] else f"{row[k]:.4g}"
              for k in metric_keys]
    lines.append("| " + " | ".join(cells) + " |")
  fileio.write_atomic(os.path.join(sweep_dir, "results.md"),
                      ("\n".join(lines) + "\n").encode())
  _plot(rows, metric_keys, os.path.join(sweep_dir, "fid_vs_keep_ratio.png"))


def _plot(rows, metric_keys, path):
  fid = next(k for k in metric_keys if k.startswith("fid_"))
  entries = study_lib.summary(
      [dict(method=r["mode"], fid=r[fid], steps=r["steps"],
            keep_ratio=r["keep_ratio"]) for r in rows])
  study_lib.plot_fid_vs_keep(entries, fid, path)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if not _SWEEP_DIR.value:
    sys.exit("error: --sweep_dir is required")
  try:
    keep_ratios = study_lib.parse_keep_ratios(_KEEP_RATIOS.value,
                                              "keep_ratios")
  except ValueError as e:
    sys.exit(f"error: --{e}")
  if not keep_ratios and not _DENSE.value:
    sys.exit("error: --keep_ratios is empty and --nodense: nothing to run")
  if flags.FLAGS.workdir is None:
    flags.FLAGS.workdir = _SWEEP_DIR.value  # Replaced per run.
  try:
    base = config_flags.config()
  except ValueError as e:
    sys.exit(f"error: --{e}")
  try:
    run_sweep(base, keep_ratios, _DENSE.value, _SWEEP_DIR.value)
  except errors.UserError as e:
    sys.exit(f"error: --{e}")
  print(open(os.path.join(_SWEEP_DIR.value, "results.md")).read())


if __name__ == "__main__":
  app.run(main)
