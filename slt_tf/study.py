r"""The reproduction study: the ticket search against its baselines, several
seeds, evaluated on a split no search saw, written up as results and a report.

  python -m slt_tf.study --flagfile=configs/study_cpu.cfg

Every search flag of ``slt_tf.train`` applies to every run (the flagfile holds
the shared budget). Runs go to ``--study_dir/runs/<method>_k<keep>_s<seed>``
and resume, so rerunning the command after an interruption continues where it
stopped. Outputs, rewritten after every run:

* ``--results_json`` (``results/cpu_reproduction.json``): one row per run,
  {method, keep_ratio, seed, fid, precision, recall, density, coverage, kid,
  steps, backbone, n, split, run}.
* ``--results_md`` (``RESULTS.md``): the mean ± std table, the targets, sample
  grids, the FID-vs-keep-ratio plot and the loss curves (figures in
  ``--results_dir``). Text between ``<!-- BEGIN discussion -->`` and
  ``<!-- END discussion -->`` in an existing file is kept.
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
from slt_tf import masking
from slt_tf import study_lib
from slt_tf.config import TrainConfig


# The search's flags (listed in --helpshort); this front end's follow.
config_flags.define()
flags.adopt_module_key_flags(config_flags)

_STUDY_DIR = flags.DEFINE_string("study_dir", "workdirs/study",
                                 "Directory of the study's runs.")
_RESULTS_DIR = flags.DEFINE_string(
    "results_dir", "results", "Directory of the results file and figures.")
_RESULTS_JSON = flags.DEFINE_string(
    "results_json", None, "The rows (default: RESULTS_DIR/cpu_reproduction"
    ".json).")
_RESULTS_MD = flags.DEFINE_string("results_md", "RESULTS.md",
                                  "The report (Markdown).")
_TICKET_KEEP_RATIOS = flags.DEFINE_list(
    "ticket_keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
    "Keep ratios of the ticket searches.")
_BASELINES = flags.DEFINE_list(
    "baselines", ["dense", "random_mask", "random_dense",
                  "adversarial_ticket"], "Baseline methods.")
_BASELINE_KEEP_RATIO = flags.DEFINE_float(
    "baseline_keep_ratio", 0.1, "Keep ratio of the masked baselines "
    "(random_mask, adversarial_ticket).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of every setting.")

_BEGIN, _END = "<!-- BEGIN discussion -->", "<!-- END discussion -->"


def run_study(base: TrainConfig, plan: Sequence[study_lib.Setting],
              runs_dir: str, results_json: str, results_dir: str,
              results_md: str, command: str = "") -> List[dict]:
  """Runs every setting of ``plan`` and rewrites the outputs after each."""
  rows = []
  for i, setting in enumerate(plan):
    logging.info("study: run %d/%d: %s", i + 1, len(plan), setting.name)
    rows.append(study_lib.run_setting(
        base, setting, runs_dir, base.eval_samples, base.eval_backbone,
        base.eval_backbone_weights))
    fileio.write_json(results_json, rows)
    write_report(base, rows, results_json, results_dir, results_md, command)
  return rows


def write_report(base: TrainConfig, rows: List[dict], results_json: str,
                 results_dir: str, results_md: str, command: str = "") -> None:
  """RESULTS.md and its figures from the rows so far."""
  os.makedirs(results_dir, exist_ok=True)
  entries = study_lib.summary(rows)
  backbone, n, split = rows[0]["backbone"], rows[0]["n"], rows[0]["split"]
  fid_label = f"FID ({backbone} backbone, N={n}, {split})"
  link = lambda p: os.path.relpath(p, os.path.dirname(
      os.path.abspath(results_md)) or ".")

  plot = os.path.join(results_dir, "fid_vs_keep_ratio.png")
  study_lib.plot_fid_vs_keep(entries, fid_label, plot)

  curves = {}
  for r in rows:
    if r["method"] == "dense":
      curves.setdefault("dense", []).append(r["run"])
    elif (r["method"] in ("ticket", "adversarial_ticket")
          and r["keep_ratio"] == 0.1):
      curves.setdefault(f"{r['method']}@0.1", []).append(r["run"])
  loss_plot = os.path.join(results_dir, "loss_curves.png")
  study_lib.plot_loss_curves(curves, loss_plot)

  grids_dir = os.path.join(results_dir, "samples")
  os.makedirs(grids_dir, exist_ok=True)
  real = os.path.join(grids_dir, "real.png")
  if not os.path.exists(real):
    study_lib.real_grid(base, split, real)
  grid_lines = [f"| real ({split}) | ![real]({link(real)}) |"]
  first_seed = min(r["seed"] for r in rows)
  for r in rows:
    # Every seed of the headline ticket shows its spread; one seed of the rest.
    headline = r["method"] == "ticket" and r["keep_ratio"] == 0.1
    if r["seed"] != first_seed and not headline:
      continue
    source = study_lib.latest_sample_grid(r["run"])
    if source:
      name = f"{r['method']}_k{r['keep_ratio']:g}.png"
      if r["seed"] != first_seed:
        name = f"{r['method']}_k{r['keep_ratio']:g}_s{r['seed']}.png"
      study_lib.copy_atomic(source, os.path.join(grids_dir, name))
      grid_lines.append(f"| {r['method']} @{r['keep_ratio']:g}, seed "
                        f"{r['seed']}, step {r['steps']} | "
                        f"![{r['method']}]({link(os.path.join(grids_dir, name))}) |")

  target_lines = ["| target | measured | met |", "|---|---|---|"]
  for t in study_lib.targets(entries, 0.1):
    met = {True: "yes", False: "**no**", None: "not run"}[t["met"]]
    target_lines.append(f"| {t['target']} | {t['measured']} | {met} |")

  discussion = (f"{_BEGIN}\n(Write the discussion here; regenerating the "
                f"report keeps it.)\n{_END}")
  if os.path.exists(results_md):
    with open(results_md) as f:
      old = f.read()
    if _BEGIN in old and _END in old:
      discussion = old[old.index(_BEGIN):old.index(_END) + len(_END)]

  g = base
  whole = [name for name, on in (("first", g.ticket.first_dense),
                                  ("last", g.ticket.last_dense)) if on]
  whole_text = (f" In ticket-mode runs the {' and '.join(whole)} layer"
                f"{'s are' if len(whole) > 1 else ' is'} kept whole and random "
                "(never pruned, never trained)." if whole else "")
  text = f"""# Reproduction study at CPU scale

Generated by `{command or 'python -m slt_tf.study'}` (rows:
`{link(results_json)}`).
{len(rows)} runs: {g.arch} at {g.resolution} px, width {g.width}, on
`{g.dataset}` ({g.split} split), matching the moments of `{g.features}`
features; batch {g.batch_size}, Adam lr {g.learning_rate:g}, the same step
budget for every method.{whole_text} Metrics: the `{backbone}` evaluator on {n} real images
of `{split}` (a split no search or selection looked at) against {n} samples of
the last checkpoint; mean ± sample std over seeds.

{study_lib.summary_table(entries, backbone, n)}
## Targets

{chr(10).join(target_lines)}

## Discussion

{discussion}

## FID against keep ratio

![FID vs keep ratio]({link(plot)})

## Loss curves: moment-matching vs adversarial ticket search

Left: the distance between generated and real feature moments, which every
method logs whatever drives it. Right: each method's own loss (for the
adversarial ticket, the generator's and the discriminator's hinge losses).

![loss curves]({link(loss_plot)})

## Samples (fixed latents; seed {first_seed}, and every seed of the ticket at 0.1)

| run | samples |
|---|---|
{chr(10).join(grid_lines)}
"""
  fileio.write_atomic(results_md, text.encode())


def _results_json_path(results_dir: str) -> str:
  return _RESULTS_JSON.value or os.path.join(results_dir,
                                             "cpu_reproduction.json")


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  try:
    keep_ratios = study_lib.parse_keep_ratios(_TICKET_KEEP_RATIOS.value,
                                              "ticket_keep_ratios")
    masking.validate_keep_ratio(_BASELINE_KEEP_RATIO.value,
                                "baseline_keep_ratio")
    try:
      seeds = [int(s) for s in _SEEDS.value]
    except ValueError:
      raise ValueError(f"seeds must be integers, got {_SEEDS.value}") from None
    if not seeds:
      raise ValueError("seeds is empty")
    plan = study_lib.settings(keep_ratios, _BASELINES.value,
                              _BASELINE_KEEP_RATIO.value, seeds)
    if not plan:
      raise ValueError("ticket_keep_ratios and baselines are empty: nothing "
                       "to run")
    if flags.FLAGS.workdir is None:
      flags.FLAGS.workdir = _STUDY_DIR.value  # Replaced per run.
    base = config_flags.config()
  except ValueError as e:
    sys.exit(f"error: --{e}")
  if base.method != "ticket":
    sys.exit("error: --method: the study sets each run's method; leave "
             "--method unset")
  runs_dir = os.path.join(_STUDY_DIR.value, "runs")
  os.makedirs(runs_dir, exist_ok=True)
  fileio.write_atomic(os.path.join(_STUDY_DIR.value, "flags.txt"),
                      flags.FLAGS.flags_into_string().encode())
  command = " ".join(["python -m slt_tf.study"] + sys.argv[1:])
  try:
    run_study(base, plan, runs_dir, _results_json_path(_RESULTS_DIR.value),
              _RESULTS_DIR.value, _RESULTS_MD.value, command)
  except errors.UserError as e:
    sys.exit(f"error: --{e}")
  except FloatingPointError as e:
    sys.exit(f"error: {e}")
  print(open(_RESULTS_MD.value).read())


if __name__ == "__main__":
  app.run(main)
