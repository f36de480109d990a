"""The study's figures: FID against keep ratio, loss curves, sample grids."""

import io
import json
import os
import textwrap
from typing import Dict, List, Optional, Sequence

import numpy as np

from slt_tf.config import TrainConfig
from slt_tf.data import images
from slt_tf import fileio
from slt_tf import workdir as workdir_lib


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
  # A long label (backbone, N, split) would run past the figure's height.
  axes.set_ylabel(textwrap.fill(ylabel, 34))
  axes.legend(fontsize=7)
  _save(plt, figure, path)


def scalar_curve(workdir: str, tag: str):
  """(steps, values) of a TensorBoard scalar of a run (empty if absent)."""
  # Imported here: only reports read event files.
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  directory = workdir_lib.search_events_dir(workdir)
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


# The scalars the loss curves draw.
CURVE_TAGS = ("loss/mean_mse", "loss/var_mse", "loss/loss", "loss/g_loss",
              "loss/d_loss")


def run_curves(workdir: str, cache_path: str) -> Dict[str, list]:
  """``CURVE_TAGS`` of a run: tag -> [steps, values], read from its event
  files and stored in ``cache_path`` (JSON), or read from ``cache_path``
  when the workdir is gone (a new checkout holds the results directory, not
  the runs); {} when neither exists."""
  if os.path.isdir(os.path.join(workdir, "tensorboard")):
    curves = {}
    for tag in CURVE_TAGS:
      steps, values = scalar_curve(workdir, tag)
      if steps:
        curves[tag] = [steps, values]
    os.makedirs(os.path.dirname(cache_path) or ".", exist_ok=True)
    fileio.write_atomic(cache_path, json.dumps(curves).encode())
    return curves
  if os.path.exists(cache_path):
    with open(cache_path) as f:
      return json.load(f)
  return {}


def plot_loss_curves(runs: Dict[str, List[Dict[str, list]]], path: str
                     ) -> None:
  """Moment distance (every method logs it) and each method's own loss.

  Args:
    runs: label -> the ``run_curves`` of each of its runs.
    path: the PNG written.
  """
  plt = _figure()
  figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=120)
  colors = ["tab:blue", "tab:green", "tab:orange", "tab:red", "tab:purple"]
  empty = [[], []]
  for color, (label, curves_list) in zip(colors, runs.items()):
    for i, curves in enumerate(curves_list):
      steps, mean = curves.get("loss/mean_mse", empty)
      _, var = curves.get("loss/var_mse", empty)
      if steps and len(var) == len(mean):
        left.plot(steps, np.add(mean, var), color=color, alpha=0.8,
                  label=label if i == 0 else None)
      own = "loss/g_loss" if "adversarial" in label else "loss/loss"
      steps, values = curves.get(own, empty)
      if steps:
        right.plot(steps, values, color=color, alpha=0.8,
                   label=(f"{label}: {own.split('/')[1]}" if i == 0 else None))
      if "adversarial" in label:
        steps, values = curves.get("loss/d_loss", empty)
        if steps:
          right.plot(steps, values, color=color, alpha=0.8, linestyle=":",
                     label=f"{label}: d_loss" if i == 0 else None)
  left.set_yscale("log")
  left.set_xlabel("step")
  left.set_ylabel("mean_mse + var_mse")
  left.set_title("distance of the feature moments", fontsize=9)
  right.set_xlabel("step")
  right.set_ylabel("loss")
  right.set_title("the loss each method optimises", fontsize=9)
  for axes in (left, right):
    if axes.get_legend_handles_labels()[0]:  # Runs without logged curves.
      axes.legend(fontsize=7)
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
  real = config.data.source().load(config.model.resolution, split)
  batch = next(iter(real.dataset.batch(count)))
  images.write_png(path, images.make_grid(batch.numpy()))


def copy_atomic(source: str, target: str) -> None:
  with open(source, "rb") as f:
    fileio.write_atomic(target, f.read())
