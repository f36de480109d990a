"""Every plan's report: the study's report (``--results_md``) (mean ± std tables, the
targets, figures), the tuning pilots' table and the sweep's table, all from
their rows.

``write_report`` rewrites the study's report and its figures from the rows so far;
text between ``<!-- BEGIN discussion -->`` and ``<!-- END discussion -->`` in
an existing file is kept.
"""

import math
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from slt_tf.config import LR_SCHEDULE_PHRASES
from slt_tf.config import TrainConfig
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf import fileio
from slt_tf import methods
from slt_tf.study import figures
from slt_tf.study.plan import Setting, UNMASKED
from slt_tf.study import runner
from slt_tf.study.runner import METRICS

_BEGIN, _END = "<!-- BEGIN discussion -->", "<!-- END discussion -->"


def _groups(rows: Iterable[dict], key: Callable[[dict], tuple]
            ) -> Dict[tuple, List[dict]]:
  """The rows grouped by ``key`` (one group per seed set), in the order of
  their first rows."""
  groups: Dict[tuple, List[dict]] = {}
  for r in rows:
    groups.setdefault(key(r), []).append(r)
  return groups


def summary(rows: Iterable[dict]) -> List[dict]:
  """Mean and sample standard deviation of each metric per (method, keep)."""
  groups = _groups(rows, lambda r: (r["method"], r["keep_ratio"]))
  order = {m: i for i, m in enumerate(methods.METHODS)}
  result = []
  for (method, keep), members in sorted(
      groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
    result.append({"method": method, "keep_ratio": keep,
                   "seeds": len(members),
                   "steps": sorted({m["steps"] for m in members}),
                   "fid_per_seed": [(m["seed"], m.get("fid")) for m in
                                    sorted(members, key=lambda m: m["seed"])],
                   **runner.seed_stats(members, METRICS)})
  return result


def _finite(value) -> bool:
  return value is not None and math.isfinite(value)


def _mean_std(entry: dict, name: str, digits: int = 3) -> str:
  mean, std = entry.get(name), entry.get(name + "_std")
  if mean is None:
    return "n/a"
  fmt = f"{{:.{digits}g}}"
  text = fmt.format(mean)
  return text + (f" ± {fmt.format(std)}" if std is not None else "")


def summary_table(entries: Sequence[dict], backbone: str, n: int) -> str:
  """The Markdown table of ``summary`` (mean ± std over seeds, and each
  seed's FID)."""
  header = ["method", "keep ratio", "seeds", "steps",
            f"FID ({backbone}, N={n})", "precision", "recall", "density",
            "coverage", "FID per seed"]
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  for e in entries:
    keep = "1 (no mask)" if e["method"] in UNMASKED else f"{e['keep_ratio']:g}"
    steps = ",".join(str(s) for s in e["steps"])
    cells = [e["method"], keep, str(e["seeds"]), steps,
             _mean_std(e, "fid", 4)]
    cells += [_mean_std(e, m, 2) for m in
              ("precision", "recall", "density", "coverage")]
    cells.append(", ".join(
        f"s{seed} {fid:.1f}" if _finite(fid) else f"s{seed} n/a"
        for seed, fid in e.get("fid_per_seed", [])))
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def targets(entries: Sequence[dict], keep: float = 0.1) -> List[dict]:
  """The study's two targets, with the measured ratios (None: not run)."""
  fid = {(e["method"], e["keep_ratio"]): e["fid"] for e in entries}
  ticket = fid.get(("ticket", keep))
  dense = fid.get(("dense", 1.0))
  random_mask = fid.get(("random_mask", keep))
  result = []
  ratio = ticket / dense if ticket is not None and dense else None
  result.append({
      "target": f"ticket@{keep:g} FID within 10% of the dense baseline's",
      "measured": (f"ticket/dense = {ratio:.3f}" if ratio is not None
                   else "n/a"),
      "met": None if ratio is None else ratio <= 1.10})
  ratio = random_mask / ticket if random_mask is not None and ticket else None
  result.append({
      "target": f"random mask@{keep:g} FID at least 10x the ticket's",
      "measured": (f"random_mask/ticket = {ratio:.2f}" if ratio is not None
                   else "n/a"),
      "met": None if ratio is None else ratio >= 10.0})
  return result


def _setting(row: dict) -> Setting:
  return Setting(row["method"], row["keep_ratio"], row["seed"])


def write_report(base: TrainConfig, rows: List[dict], results_json: str,
                 results_dir: str, results_md: str, command: str = "",
                 tuning_rows: Optional[List[dict]] = None) -> None:
  """The study's report (``results_md``) and its figures from the rows so
  far (and the tuning pilots' table, given their rows)."""
  os.makedirs(results_dir, exist_ok=True)
  entries = summary(rows)
  backbone, n, split = rows[0]["backbone"], rows[0]["n"], rows[0]["split"]
  fid_label = f"FID ({backbone} backbone, N={n}, {split})"
  link = lambda p: os.path.relpath(p, os.path.dirname(
      os.path.abspath(results_md)) or ".")

  plot = os.path.join(results_dir, "fid_vs_keep_ratio.png")
  figures.plot_fid_vs_keep(entries, fid_label, plot)

  curves = {}
  curves_dir = os.path.join(results_dir, "curves")
  for r in rows:
    if r["method"] == "dense":
      label = "dense"
    elif (r["method"] in ("ticket", "adversarial_ticket")
          and r["keep_ratio"] == 0.1):
      label = f"{r['method']}@0.1"
    else:
      continue
    curves.setdefault(label, []).append(figures.run_curves(
        r["run"], os.path.join(curves_dir, f"{_setting(r).name}.json")))
  loss_plot = os.path.join(results_dir, "loss_curves.png")
  figures.plot_loss_curves(curves, loss_plot)

  grids_dir = os.path.join(results_dir, "samples")
  os.makedirs(grids_dir, exist_ok=True)
  real = os.path.join(grids_dir, "real.png")
  if not os.path.exists(real):
    figures.real_grid(base, split, real)
  grid_lines = [f"| real ({split}) | ![real]({link(real)}) |"]
  first_seed = min(r["seed"] for r in rows)
  for r in rows:
    # Every seed of the headline ticket shows its spread; one seed of the rest.
    headline = r["method"] == "ticket" and r["keep_ratio"] == 0.1
    if r["seed"] != first_seed and not headline:
      continue
    setting = _setting(r)
    name = (setting.group if r["seed"] == first_seed else setting.name) + ".png"
    source = figures.latest_sample_grid(r["run"])
    if source:
      figures.copy_atomic(source, os.path.join(grids_dir, name))
    # Without the run (a new checkout), the copy made when it ran is shown.
    if os.path.exists(os.path.join(grids_dir, name)):
      grid_lines.append(f"| {r['method']} @{r['keep_ratio']:g}, seed "
                        f"{r['seed']}, step {r['steps']} | "
                        f"![{r['method']}]({link(os.path.join(grids_dir, name))}) |")

  target_lines = ["| target | measured | met |", "|---|---|---|"]
  for t in targets(entries, 0.1):
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
                "(never pruned, never trained)" if whole else "")
  if whole:
    whole_text += ("; so in the weight-training baselines (the same network "
                   "for both)." if g.ticket.dense_whole_frozen else ".")
  kinds = sorted({r.get("checkpoint", "last") for r in rows})
  checkpoint_text = ("the best checkpoint on the selection split"
                     if kinds == ["best"] else "the last checkpoint"
                     if kinds == ["last"] else "the last or best checkpoint")
  bn = sorted({r.get("bn_batches", 0) for r in rows})
  if bn != [0]:
    checkpoint_text += (", its batch-norm statistics re-estimated on "
                        f"{'/'.join(str(b) for b in bn)} batches of latents")
  own = {}
  for r in rows:
    if r.get("flags"):
      own.setdefault(r["method"], r["flags"])
  short = sorted({(r["method"], r["train_steps"]) for r in rows
                  if r.get("train_steps", g.optim.train_steps)
                  < g.optim.train_steps
                  and not methods.get(r["method"]).trains})
  short_text = ""
  if short:
    names = sorted({m for m, _ in short})
    steps = "/".join(sorted({str(n) for _, n in short}))
    one = len(names) == 1
    short_text = (f" ({' and '.join(names)}, which train{'s' if one else ''} "
                  f"nothing, {steps}: the same network at every later step "
                  "once the batch-norm statistics settle, so the study stops "
                  f"{'it' if one else 'them'} at the first evaluation)")
  own_text = ((" for every method that trains" if short else
               " for every method") if not own else
              "; these flags replace the shared ones for one method: "
              + "; ".join(f"{m}: `{f}`" for m, f in own.items()))
  tuning_text = ""
  if tuning_rows is not None:
    tuning_text = ("\n## Tuning pilots\n\nEach pilot's flags replace the "
                   "shared setting's; `last_bn`/`best_bn`: batch-norm "
                   "statistics re-estimated on the final network "
                   "(`python -m slt_tf.tune`).\n\n"
                   + pilots_table(tuning_rows))
  schedule_text = LR_SCHEDULE_PHRASES[g.optim.lr_schedule]
  machines = sorted({r["machine"] for r in rows if r.get("machine")})
  machine_text = (f" Runs made on: {'; '.join(machines)}." if machines
                  else "")
  text = f"""# Reproduction study at CPU scale

Generated by `{command or 'python -m slt_tf.study'}` (rows:
`{link(results_json)}`).{machine_text}
{len(rows)} runs: {g.model.arch} at {g.model.resolution} px, width {g.model.width}, on
`{g.data.dataset}` ({g.data.split} split), matching the moments of `{g.features.extractor}`
features; batch {g.optim.batch_size}, Adam lr {g.optim.learning_rate:g}{schedule_text}, {g.optim.train_steps} steps{own_text}{short_text}.{whole_text} Metrics: the `{backbone}` evaluator on {n} real images
of `{split}` (a split no search or selection looked at) against {n} samples of
{checkpoint_text}; mean ± sample std over seeds.

{summary_table(entries, backbone, n)}
## Targets

{chr(10).join(target_lines)}

## Discussion

{discussion}
{tuning_text}

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


def write_sweep(rows: List[dict], sweep_dir: str) -> None:
  """The sweep's ``results.json``, ``results.md`` (one line per run, metrics
  named with their backbone and N) and ``fid_vs_keep_ratio.png``."""
  fileio.write_json(os.path.join(sweep_dir, "results.json"), rows)
  backbone, n = rows[0]["backbone"], rows[0]["n"]
  names = [evaluator_lib.metric_name(m, backbone, n) for m in METRICS]
  header = ["run", "method", "keep ratio", "steps"] + names
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  for r in rows:
    cells = [os.path.basename(r["run"]), r["method"], f"{r['keep_ratio']:g}",
             str(r["steps"])]
    cells += [f"{r[m]:.4g}" if _finite(r[m]) else "n/a" for m in METRICS]
    lines.append("| " + " | ".join(cells) + " |")
  fileio.write_atomic(os.path.join(sweep_dir, "results.md"),
                      ("\n".join(lines) + "\n").encode())
  figures.plot_fid_vs_keep(summary(rows), names[0],
                           os.path.join(sweep_dir, "fid_vs_keep_ratio.png"))


def pilots_summary(rows: Iterable[dict]) -> List[dict]:
  """Mean and sample std of FID, precision and recall over seeds per
  (pilot, method, variant) of the tuning pilots' rows, in the rows' order."""
  groups = _groups(rows, lambda r: (r["pilot"], r["method"], r["variant"]))
  result = []
  for (pilot, method, variant), members in groups.items():
    entry = {"pilot": pilot, "flags": members[0]["flags"], "method": method,
             "variant": variant, "seeds": sorted(m["seed"] for m in members),
             "train_steps": members[0]["train_steps"],
             **runner.seed_stats(members, ("fid", "precision", "recall"))}
    entry["fids"] = [m["fid"] for m in sorted(members, key=lambda m: m["seed"])]
    result.append(entry)
  return result


def chosen(entries: Sequence[dict], min_seeds: int = 2) -> Dict[str, dict]:
  """Per method, the entry (pilot and variant) of lowest mean selection FID
  among those with at least ``min_seeds`` seeds."""
  best: Dict[str, dict] = {}
  for e in entries:
    if e["fid"] is None or len(e["seeds"]) < min_seeds:
      continue
    if e["method"] not in best or e["fid"] < best[e["method"]]["fid"]:
      best[e["method"]] = e
  return best


def _cell(entry: dict, name: str, digits: int) -> str:
  if entry[name] is None:
    return "-"
  std = entry[name + "_std"]
  text = f"{entry[name]:.{digits}f}"
  return text + (f" ± {std:.{digits}f}" if std is not None else "")


def pilots_table(rows: Sequence[dict]) -> str:
  """The pilots as Markdown: one line per (pilot, method, variant), then the
  chosen setting per method."""
  entries = pilots_summary(rows)
  if not entries:
    return "No tuning runs have finished yet.\n"
  first = rows[0]
  lines = [f"Selection split `{first['split']}`, backbone `{first['backbone']}`"
           f", N={first['n']}; mean ± sample std over seeds (per-seed FIDs in "
           "the last column).", "",
           "| pilot | flags | method | checkpoint | steps | seeds | FID | "
           "precision | recall | FID per seed |",
           "|---|---|---|---|---|---|---|---|---|---|"]
  for e in entries:
    fids = ", ".join("-" if v is None else f"{v:.1f}" for v in e["fids"])
    lines.append(
        f"| {e['pilot']} | `{e['flags'] or '(shared)'}` | {e['method']} | "
        f"{e['variant']} | {e['train_steps']} | {len(e['seeds'])} | "
        f"{_cell(e, 'fid', 1)} | {_cell(e, 'precision', 2)} | "
        f"{_cell(e, 'recall', 2)} | {fids} |")
  best = chosen(entries)
  if best:
    lines += ["", "Lowest mean selection FID per method (at least 2 seeds):",
              ""]
    for method, e in best.items():
      flags_text = e["flags"] or "shared flags"
      lines.append(f"- {method}: pilot `{e['pilot']}` ({flags_text}), "
                   f"checkpoint {e['variant']}: {_cell(e, 'fid', 1)}")
  return "\n".join(lines) + "\n"


def write_pilots_table(rows: Sequence[dict], path: str, command: str,
                base: Optional[TrainConfig] = None) -> None:
  """Writes the pilots' table to ``path`` (Markdown), atomically."""
  header = ["# Tuning pilots", "", f"Generated by `{command}`.", ""]
  if base is not None:
    header += [f"Shared setting: {base.model.arch} at {base.model.resolution} px on "
               f"`{base.data.dataset}`, `{base.features.extractor}` features, batch "
               f"{base.optim.batch_size}; each pilot's flags replace these.", ""]
  fileio.write_atomic(path, ("\n".join(header) + pilots_table(rows)).encode())
