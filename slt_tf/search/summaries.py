"""What the search reports while it runs: console lines, TensorBoard scalars,
sample grids, kept fractions, the mask flip rate and score histograms."""

import os
from typing import Dict, List, Optional

from absl import logging
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import images
from slt_tf.search.state import State
from slt_tf.ticket import layers


class MaskMonitor:
  """Kept fractions and the mask flip rate (mask bits changed since last call)."""

  def __init__(self, model):
    self.layers = [l for l in layers.masked_layers(model) if l.is_ticket]
    self._previous: Optional[List[np.ndarray]] = None

  def measure(self) -> Dict[str, float]:
    masks = []
    for layer in self.layers:
      parts = [layer.mask()]
      if layer.bias_scores is not None:
        parts.append(layer.bias_mask())
      masks.append(np.concatenate([np.asarray(p).ravel() for p in parts]) > 0)
    if not masks:
      return {}
    kept = sum(int(m.sum()) for m in masks)
    total = sum(m.size for m in masks)
    result = {"kept_fraction/total": kept / total}
    for layer, m in zip(self.layers, masks):
      result[f"kept_fraction/{layer.path}"] = float(m.mean())
    if self._previous is not None:
      flips = sum(int(np.count_nonzero(a != b))
                  for a, b in zip(masks, self._previous))
      result["mask_flip_rate"] = flips / total
    self._previous = masks
    return result


def log_progress(config: TrainConfig, writer, step: int, metrics: dict,
                 lr: float, rate: float) -> None:
  with writer.as_default(step=step):
    for name, value in metrics.items():
      tf.summary.scalar(f"loss/{name}", value)
    tf.summary.scalar("learning_rate", lr)
    tf.summary.scalar("steps_per_second", rate)
  logging.info(
      "step %d/%d  loss %.4g (mean %.4g, var %.4g)  mse mean %.3g var %.3g  "
      "%.2f steps/s  ETA %s", step, config.optim.train_steps, metrics["loss"],
      metrics["loss_mean"], metrics["loss_var"], metrics["mean_mse"],
      metrics["var_mse"], rate,
      format_eta((config.optim.train_steps - step) / max(rate, 1e-9)))


def write_samples_and_masks(config: TrainConfig, state: State, writer,
                            step: int, sample_fn, monitor: MaskMonitor):
  """The fixed-z grid (PNG and TensorBoard), kept fractions, flip rate and
  score histograms."""
  grid = images.make_grid(np.asarray(sample_fn()))
  path = os.path.join(config.workdir, "samples", f"step_{step:07d}.png")
  images.write_png(path, grid)
  with writer.as_default(step=step):
    tf.summary.image("samples", grid[None], max_outputs=1)
  if not monitor.layers:
    logging.info("step %d: samples %s", step, path)
    return
  if config.ticket.mask_scope == "global":
    layers.update_global_thresholds(state.generator)
  stats = monitor.measure()
  with writer.as_default(step=step):
    for name, value in stats.items():
      tf.summary.scalar(name, value)
    for layer in monitor.layers:
      for v in layer.score_variables():
        tf.summary.histogram(f"scores/{layer.path}/{v.name}", v)
  logging.info("step %d: samples %s; kept %.4f, mask flip rate %s", step,
               path, stats["kept_fraction/total"],
               f"{stats['mask_flip_rate']:.4g}" if "mask_flip_rate" in stats
               else "n/a")


def format_eta(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rest = divmod(seconds, 3600)
  m, s = divmod(rest, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
