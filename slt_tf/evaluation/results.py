"""Where an evaluation's result goes, and when a stored one is reused.

A result is named by what its split is to the run (``split_role``:
"selection", "report") and by its checkpoint and settings (``result_name``):
``WORKDIR/eval/<role>/<name>.json``, with TensorBoard scalars in the run
``tensorboard_run(role, name)``. ``stored_result`` finds the result of an
evaluation asked for again with the same settings, also under the names
results had before roles.
"""

import json
import os
import re
from typing import Optional

import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import datasets
from slt_tf.eval_settings import EvalSettings
from slt_tf import fileio
from slt_tf import workdir as workdir_lib


def split_label(split: str) -> str:
  """A file-name-safe, unique form of a split: ``test[:50%]`` ->
  ``test_to50pct``, ``test[50%:]`` -> ``test_50pctto``."""
  label = split.replace("%", "pct").replace(":", "to").replace("[", "_")
  return re.sub(r"[^A-Za-z0-9_.-]+", "", label)


def split_role(config: TrainConfig, split: str) -> str:
  """What ``split`` is to the run, which names its evaluations' files and
  TensorBoard runs: "selection" or "report" (``datasets.held_out_splits``),
  else the split's own name made file-safe. The exact split string is kept
  inside every result."""
  try:
    splits = config.data.source().held_out_splits()
  except datasets.DataError:
    splits = None
  if splits is not None and split == splits.selection:
    return "selection"
  if splits is not None and split == splits.report:
    return "report"
  return split_label(split)


def result_name(step: int, saved_model: bool = False, grayscale: bool = False,
                bn_batches: int = 0) -> str:
  """An evaluation's name: ``step_0002000`` (the checkpoint's step) or
  ``saved_model``, with ``_gray`` and ``_bn`` (re-estimated batch norms)
  for those evaluations."""
  name = "saved_model" if saved_model else f"step_{step:07d}"
  return name + ("_gray" if grayscale else "") + ("_bn" if bn_batches else "")


def result_path(workdir: str, role: str, name: str) -> str:
  """``WORKDIR/eval/<role>/<name>.json``, e.g. ``eval/report/step_0002000_bn
  .json`` (``split_role``, ``result_name``)."""
  return os.path.join(workdir, "eval", role, f"{name}.json")


def _old_result_path(workdir: str, split: str, name: str) -> str:
  """Where results were written before they were named by role:
  ``eval/<name>_<split_label>.json``; read, never written."""
  return os.path.join(workdir, "eval", f"{name}_{split_label(split)}.json")


def tensorboard_run(role: str, name: str) -> str:
  """The TensorBoard run of an evaluation: its role, and what its name adds
  to a checkpoint's step (``report_bn``, ``selection_tune_last``), so that
  the evaluations of every checkpoint form one curve."""
  suffix = re.sub(r"^step_\d+_?", "", name)
  return f"{role}_{suffix}" if suffix else role


def write_result(workdir: str, role: str, name: str, step: int,
                 result: dict) -> str:
  """Writes ``eval/<role>/<name>.json`` and TensorBoard scalars (run
  ``tensorboard_run(role, name)``, at ``step``); returns the JSON path.
  Metrics that are not finite are left out of both."""
  result = dict(result, metrics={k: v for k, v in result["metrics"].items()
                                 if np.isfinite(v)})
  path = result_path(workdir, role, name)
  fileio.write_json(path, result)
  writer = tf.summary.create_file_writer(
      workdir_lib.tensorboard_dir(workdir, tensorboard_run(role, name)))
  with writer.as_default(step=max(step, 0)):
    for metric, value in result["metrics"].items():
      tf.summary.scalar(f"eval/{metric}", value)
  writer.close()
  return path


def stored_result(config: TrainConfig, workdir: str, checkpoint, split,
                   label, settings: EvalSettings) -> Optional[dict]:
  """The stored result of the evaluation ``evaluate_workdir`` was asked for:
  the same checkpoint and ``settings`` (``EvalSettings.same_evaluation``);
  else None. Results written before they were named by role are found
  too."""
  path = workdir_lib.resolve_checkpoint(workdir, checkpoint)
  step = workdir_lib.checkpoint_step(path)
  name = label or result_name(step, False, settings.grayscale,
                              settings.bn_batches)
  for stored_path in (result_path(workdir, split_role(config, split), name),
                      _old_result_path(workdir, split, name)):
    if os.path.exists(stored_path):
      with open(stored_path) as f:
        stored = json.load(f)
      if stored.get("checkpoint") == path and settings.same_evaluation(
          stored):
        return stored
  return None
