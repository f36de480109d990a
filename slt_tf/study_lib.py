"""Runs of several methods, keep ratios and seeds, evaluated and reported.

The library behind ``slt_tf.sweep`` (one seed, tickets and the dense baseline)
and ``slt_tf.study`` (the reproduction study: every method, several seeds).
Each setting is one search in ``RUNS_DIR/<method>_k<keep>_s<seed>`` with
``slt_tf.train_lib.run``, then an evaluation of its last checkpoint on the
report split (``data.held_out_splits(...).report``, which no search looks at).
Runs and evaluations resume: a finished setting is read back, not redone.
"""

import dataclasses
import io
import json
import math
import os
from typing import Dict, Iterable, List, Optional, Sequence

from absl import logging
import numpy as np

from slt_tf import data
from slt_tf import evaluate_lib
from slt_tf import fileio
from slt_tf import images
from slt_tf import masking
from slt_tf import methods
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
from slt_tf.config import TrainConfig

# Row metrics, named without backbone and N (both are columns of the row).
METRICS = ("fid", "precision", "recall", "density", "coverage", "kid")
# Methods whose keep ratio means nothing (no mask).
_UNMASKED = ("dense", "random_dense", "finetune")


@dataclasses.dataclass(frozen=True)
class Setting:
  """One run of a study."""
  method: str
  keep_ratio: float
  seed: int

  @property
  def name(self) -> str:
    return f"{self.method}_k{self.keep_ratio:g}_s{self.seed}"


def parse_keep_ratios(texts: Sequence[str], flag: str) -> List[float]:
  """Keep ratios from a list flag's strings.

  Raises:
    ValueError: starting with ``flag``, naming the bad value.
  """
  def number(text):
    try:
      return float(text)
    except ValueError:
      return text  # validate_keep_ratio then names the flag and the value.
  return [masking.validate_keep_ratio(number(t), flag) for t in texts]


def settings(keep_ratios: Sequence[float], baselines: Sequence[str],
             baseline_keep_ratio: float, seeds: Sequence[int]
             ) -> List[Setting]:
  """Tickets at each keep ratio, then each baseline, for every seed.

  Seeds are the outer loop, so that a study stopped early holds complete
  comparisons for its first seeds.

  Raises:
    ValueError: starting with "baselines", for an unknown or unusable method.
  """
  for name in baselines:
    if name not in methods.METHODS or name in ("ticket", "finetune"):
      raise ValueError(f"baselines must be among {methods.METHODS[1:-1]}, "
                       f"got {name!r}")
  result = []
  for seed in seeds:
    result += [Setting("ticket", k, seed) for k in keep_ratios]
    result += [Setting(b, 1.0 if b in _UNMASKED else baseline_keep_ratio,
                       seed) for b in baselines]
  return result


def setting_config(base: TrainConfig, setting: Setting, runs_dir: str
                   ) -> TrainConfig:
  """``base`` with the setting's method, keep ratio, seed and workdir."""
  ticket = dataclasses.replace(base.ticket, seed=setting.seed,
                               keep_ratio=setting.keep_ratio,
                               mode=methods.get(setting.method).layer_mode)
  return dataclasses.replace(base, workdir=os.path.join(runs_dir, setting.name),
                             method=setting.method, ticket=ticket)


def _evaluation(config: TrainConfig, num_samples: int, backbone: str,
                backbone_weights: Optional[str]) -> dict:
  """The report-split evaluation of the run's last checkpoint (reused when
  it exists for that checkpoint and N)."""
  split = data.held_out_splits(config.dataset, config.data_dir).report
  latest = workdir_lib.resolve_checkpoint(config.workdir, None)
  step = workdir_lib.checkpoint_step(latest)
  path = evaluate_lib.result_path(config.workdir, split, step)
  if os.path.exists(path):
    with open(path) as f:
      stored = json.load(f)
    if (stored.get("requested_n") == num_samples
        and backbone in ("auto", stored.get("backbone"))
        and stored.get("checkpoint") == latest):
      return stored
  return evaluate_lib.evaluate_workdir(
      config.workdir, num_samples=num_samples, backbone=backbone,
      backbone_weights=backbone_weights, cache_dir=config.cache_dir)


def row(setting: Setting, config: TrainConfig, evaluation: dict) -> dict:
  """One results row: the setting, the metrics without their suffix, and
  where they come from."""
  values = {name: evaluation["metrics"].get(evaluate_lib.metric_name(
      name, evaluation["backbone"], evaluation["n"])) for name in METRICS}
  return {"method": setting.method, "keep_ratio": setting.keep_ratio,
          "seed": setting.seed, **values, "steps": evaluation["step"],
          "backbone": evaluation["backbone"], "n": evaluation["n"],
          "split": evaluation["split"], "run": config.workdir}


def search_and_evaluate(config: TrainConfig, num_samples: int,
                        backbone: str = "auto",
                        backbone_weights: Optional[str] = None):
  """Runs (or resumes) one search and evaluates its last checkpoint on the
  report split; returns (search result, evaluation result)."""
  search = train_lib.run(config)
  return search, _evaluation(config, num_samples, backbone, backbone_weights)


def run_setting(base: TrainConfig, setting: Setting, runs_dir: str,
                num_samples: int, backbone: str = "auto",
                backbone_weights: Optional[str] = None) -> dict:
  """Searches (or resumes) one setting, evaluates it, returns its row."""
  config = setting_config(base, setting, runs_dir)
  logging.info("study: %s", setting.name)
  _, evaluation = search_and_evaluate(config, num_samples, backbone,
                                      backbone_weights)
  return row(setting, config, evaluation)


def summary(rows: Iterable[dict]) -> List[dict]:
  """Mean and sample standard deviation of each metric per (method, keep)."""
  groups: Dict[tuple, List[dict]] = {}
  for r in rows:
    groups.setdefault((r["method"], r["keep_ratio"]), []).append(r)
  order = {m: i for i, m in enumerate(methods.METHODS)}
  result = []
  for (method, keep), members in sorted(
      groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
    entry = {"method": method, "keep_ratio": keep, "seeds": len(members),
             "steps": sorted({m["steps"] for m in members})}
    for name in METRICS:
      values = [m[name] for m in members if _finite(m.get(name))]
      entry[name] = float(np.mean(values)) if values else None
      entry[name + "_std"] = (float(np.std(values, ddof=1))
                              if len(values) > 1 else None)
    result.append(entry)
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
  """The Markdown table of ``summary`` (mean ± std over seeds)."""
  header = ["method", "keep ratio", "seeds", "steps",
            f"FID ({backbone}, N={n})", "precision", "recall", "density",
            "coverage"]
  lines = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
  for e in entries:
    keep = "1 (no mask)" if e["method"] in _UNMASKED else f"{e['keep_ratio']:g}"
    steps = ",".join(str(s) for s in e["steps"])
    cells = [e["method"], keep, str(e["seeds"]), steps,
             _mean_std(e, "fid", 4)]
    cells += [_mean_std(e, m, 2) for m in
              ("precision", "recall", "density", "coverage")]
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
      "target": f"random mask@{keep:g} FID at least 3x the ticket's",
      "measured": (f"random_mask/ticket = {ratio:.2f}" if ratio is not None
                   else "n/a"),
      "met": None if ratio is None else ratio >= 3.0})
  return result


# ---------------------------------------------------------------- figures ---


def _figure():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def _save(plt, figure, path: str) -> None:
  buffer = io.BytesIO()
  figure.tight_layout()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  fileio.write_atomic(path, buffer.getvalue())


def plot_fid_vs_keep(entries: Sequence[dict], ylabel: str, path: str) -> None:
  """FID against keep ratio: tickets (mean ± std), baselines as references."""
  plt = _figure()
  import matplotlib.ticker  # pylint: disable=g-import-not-at-top
  figure, axes = plt.subplots(figsize=(5.5, 3.8), dpi=120)
  tickets = sorted((e["keep_ratio"], e["fid"], e["fid_std"] or 0.0)
                   for e in entries if e["method"] == "ticket"
                   and e["fid"] is not None)
  if tickets:
    axes.errorbar([t[0] for t in tickets], [t[1] for t in tickets],
                  yerr=[t[2] for t in tickets], fmt="o-", capsize=3,
                  label="ticket (scores trained)")
  styles = {"dense": ("gray", "--"), "random_dense": ("tab:red", ":")}
  markers = {"random_mask": ("tab:red", "x"),
             "adversarial_ticket": ("tab:green", "s")}
  for e in entries:
    if e["fid"] is None:
      continue
    if e["method"] in styles:
      color, style = styles[e["method"]]
      axes.axhline(e["fid"], color=color, linestyle=style,
                   label=e["method"].replace("_", " "))
    elif e["method"] in markers:
      color, marker = markers[e["method"]]
      axes.errorbar([e["keep_ratio"]], [e["fid"]], yerr=[e["fid_std"] or 0],
                    color=color, fmt=marker, capsize=3,
                    label=f"{e['method'].replace('_', ' ')} @{e['keep_ratio']:g}")
  axes.set_xscale("log")
  axes.set_yscale("log")
  if tickets:
    axes.set_xticks([t[0] for t in tickets])
    axes.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
  axes.set_xlabel("keep ratio (fraction of weights kept)")
  axes.set_ylabel(ylabel)
  axes.legend(fontsize=7)
  _save(plt, figure, path)


def scalar_curve(workdir: str, tag: str):
  """(steps, values) of a TensorBoard scalar of a run (empty if absent)."""
  # Imported here: only reports read event files.
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  directory = os.path.join(workdir, "tensorboard")
  if not os.path.isdir(directory):
    return [], []
  accumulator = event_accumulator.EventAccumulator(
      directory, size_guidance={event_accumulator.TENSORS: 0,
                                event_accumulator.SCALARS: 0})
  accumulator.Reload()
  points = {}
  if tag in accumulator.Tags().get("tensors", []):
    for event in accumulator.Tensors(tag):
      points[event.step] = float(tf.make_ndarray(event.tensor_proto))
  elif tag in accumulator.Tags().get("scalars", []):
    for event in accumulator.Scalars(tag):
      points[event.step] = event.value
  steps = sorted(points)
  return steps, [points[s] for s in steps]


def plot_loss_curves(runs: Dict[str, List[str]], path: str) -> None:
  """Moment distance (every method logs it) and each method's own loss."""
  plt = _figure()
  figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=120)
  colors = ["tab:blue", "tab:green", "tab:orange", "tab:red", "tab:purple"]
  for color, (label, workdirs) in zip(colors, runs.items()):
    for i, workdir in enumerate(workdirs):
      steps, mean = scalar_curve(workdir, "loss/mean_mse")
      _, var = scalar_curve(workdir, "loss/var_mse")
      if steps and len(var) == len(mean):
        left.plot(steps, np.add(mean, var), color=color, alpha=0.8,
                  label=label if i == 0 else None)
      own = "loss/g_loss" if "adversarial" in label else "loss/loss"
      steps, values = scalar_curve(workdir, own)
      if steps:
        right.plot(steps, values, color=color, alpha=0.8,
                   label=(f"{label}: {own.split('/')[1]}" if i == 0 else None))
      if "adversarial" in label:
        steps, values = scalar_curve(workdir, "loss/d_loss")
        if steps:
          right.plot(steps, values, color=color, alpha=0.8, linestyle=":",
                     label=f"{label}: d_loss" if i == 0 else None)
  left.set_yscale("log")
  left.set_xlabel("step")
  left.set_ylabel("mean_mse + var_mse")
  left.set_title("distance of the feature moments", fontsize=9)
  left.legend(fontsize=7)
  right.set_xlabel("step")
  right.set_ylabel("loss")
  right.set_title("the loss each method optimises", fontsize=9)
  right.legend(fontsize=7)
  _save(plt, figure, path)


def latest_sample_grid(workdir: str) -> Optional[str]:
  directory = os.path.join(workdir, "samples")
  if not os.path.isdir(directory):
    return None
  grids = sorted(n for n in os.listdir(directory) if n.endswith(".png"))
  return os.path.join(directory, grids[-1]) if grids else None


def real_grid(config: TrainConfig, split: str, path: str, count: int = 64
              ) -> None:
  """A grid of ``count`` real images of ``split``, as the samples are shown."""
  real = data.load(config.dataset, config.resolution, split, config.data_dir)
  batch = next(iter(real.dataset.batch(count)))
  images.write_png(path, images.make_grid(batch.numpy()))


def copy_atomic(source: str, target: str) -> None:
  with open(source, "rb") as f:
    fileio.write_atomic(target, f.read())


__all__ = ["METRICS", "Setting", "copy_atomic", "latest_sample_grid",
           "plot_fid_vs_keep", "plot_loss_curves", "real_grid", "row",
           "run_setting", "scalar_curve", "setting_config", "settings",
           "summary", "summary_table", "targets"]
