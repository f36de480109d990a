r"""Runs the search over several keep ratios (and the dense baseline), then
evaluates each on the held-out report split and writes a table and a plot.

  python -m slt_tf.sweep --flagfile=configs/demo.cfg --sweep_dir=workdirs/sweep \
      --keep_ratios=0.05,0.1,0.3,0.5 --dense

Every search flag of ``slt_tf.train`` applies to all runs; each run gets
``SWEEP_DIR/keep_<k>`` (or ``SWEEP_DIR/dense``) as its workdir, so a rerun
resumes them. Outputs: ``results.json``, ``results.md`` and
``fid_vs_keep_ratio.png`` in the sweep directory.
"""

import dataclasses
import os
import sys
from typing import List, Sequence

from absl import app
from absl import flags
from absl import logging

from slt_tf import data
from slt_tf import evaluate_lib
from slt_tf import features
from slt_tf import fileio
from slt_tf import masking
from slt_tf import train  # Defines the search flags.
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf.features import backbones

_SWEEP_DIR = flags.DEFINE_string("sweep_dir", None,
                                 "Directory of the runs and the results.")
_KEEP_RATIOS = flags.DEFINE_list("keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
                                 "Keep ratios of the ticket searches.")
_DENSE = flags.DEFINE_bool("dense", True, "Also run the dense baseline.")


def run_sweep(base: TrainConfig, keep_ratios: Sequence[float], dense: bool,
              sweep_dir: str) -> List[dict]:
  """Searches and evaluates each setting; writes and returns the table rows."""
  settings = [("ticket", k) for k in keep_ratios]
  if dense:
    settings.append(("dense", 1.0))
  rows = []
  for mode, keep in settings:
    name = "dense" if mode == "dense" else f"keep_{keep:g}"
    config = dataclasses.replace(
        base, workdir=os.path.join(sweep_dir, name),
        ticket=dataclasses.replace(base.ticket, mode=mode, keep_ratio=keep))
    logging.info("sweep: %s", name)
    train_lib.run(config)
    result = evaluate_lib.evaluate_workdir(
        config.workdir, num_samples=base.eval_samples,
        backbone=base.eval_backbone,
        backbone_weights=base.eval_backbone_weights,
        cache_dir=base.cache_dir)
    rows.append({"run": name, "mode": mode, "keep_ratio": keep,
                 "steps": result["step"], "split": result["split"],
                 **result["metrics"]})
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
  import io  # pylint: disable=g-import-not-at-top
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.ticker  # pylint: disable=g-import-not-at-top
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  fid = next(k for k in metric_keys if k.startswith("fid_"))
  tickets = sorted((r["keep_ratio"], r[fid]) for r in rows
                   if r["mode"] == "ticket")
  figure, axes = plt.subplots(figsize=(5, 3.5), dpi=120)
  if tickets:
    axes.plot([k for k, _ in tickets], [v for _, v in tickets], "o-",
              label="ticket (scores trained)")
  for r in rows:
    if r["mode"] == "dense":
      axes.axhline(r[fid], color="gray", linestyle="--",
                   label="dense (weights trained)")
  axes.set_xscale("log")
  if tickets:
    axes.set_xticks([k for k, _ in tickets])
    axes.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
  axes.set_xlabel("keep ratio (fraction of weights kept)")
  axes.set_ylabel(fid)
  axes.legend()
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  fileio.write_atomic(path, buffer.getvalue())


def _number(text: str):
  try:
    return float(text)
  except ValueError:
    return text  # validate_keep_ratio then names the flag and the value.


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if not _SWEEP_DIR.value:
    sys.exit("error: --sweep_dir is required")
  try:
    keep_ratios = [masking.validate_keep_ratio(_number(k), "keep_ratios")
                   for k in _KEEP_RATIOS.value]
  except ValueError as e:
    sys.exit(f"error: --{e}")
  if not keep_ratios and not _DENSE.value:
    sys.exit("error: --keep_ratios is empty and --nodense: nothing to run")
  if flags.FLAGS.workdir is None:
    flags.FLAGS.workdir = _SWEEP_DIR.value  # Replaced per run.
  try:
    base = train.config_from_flags()
  except ValueError as e:
    sys.exit(f"error: --{e}")
  try:
    run_sweep(base, keep_ratios, _DENSE.value, _SWEEP_DIR.value)
  except (train_lib.RunError, data.DataError, features.WeightsError,
          backbones.BackboneError) as e:
    sys.exit(f"error: --{e}")
  print(open(os.path.join(_SWEEP_DIR.value, "results.md")).read())


if __name__ == "__main__":
  app.run(main)
