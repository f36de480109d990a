"""Runs a study's settings: each a search in its own resumable workdir, then
an evaluation of its last (or best) checkpoint on the report split.

Each setting is one search in ``RUNS_DIR/<method>_k<keep>_s<seed>`` with
``slt_tf.train_lib.run``, then an evaluation on the report split
(``datasets.held_out_splits(...).report``, which no search looks at). Runs and
evaluations resume: a finished setting is read back, not redone. A setting
whose row is already stored (the same configuration and reported
checkpoint: ``stored_row``) is not run at all, so a study resumes from its
committed rows in a checkout that lacks the old workdirs.
"""

import math
import os
from typing import Callable, Dict, List, Optional, Sequence

from absl import logging
import numpy as np

from slt_tf import config as config_lib
from slt_tf.config import TrainConfig
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf import runtime
from slt_tf.study import plan as plan_lib
from slt_tf import train_lib

# Row metrics, named without backbone and N (both are columns of the row).
METRICS = ("fid", "precision", "recall", "density", "coverage", "kid")


def _evaluation(config: TrainConfig, checkpoint: str = "latest") -> dict:
  """The report-split evaluation of the run's ``checkpoint`` ("latest" or
  "best") with the config's evaluation settings (``eval_samples``,
  ``eval_backbone``, its weights and ``eval_bn_batches``; reused when
  stored)."""
  return evaluator_lib.evaluate_workdir(
      config.workdir, checkpoint, reuse=True, num_samples=config.eval_samples,
      backbone=config.eval_backbone,
      backbone_weights=config.eval_backbone_weights,
      cache_dir=config.cache_dir, bn_batches=config.eval_bn_batches)


def metric_values(evaluation: dict) -> dict:
  """``METRICS`` of an evaluation, named without backbone and N (both are
  columns of a row)."""
  return {name: evaluation["metrics"].get(evaluator_lib.metric_name(
      name, evaluation["backbone"], evaluation["n"])) for name in METRICS}


def seed_stats(members: Sequence[dict], names: Sequence[str]) -> dict:
  """For each of ``names``: its mean over the rows ``members`` (one per
  seed) and, with two or more values, the sample std (``NAME_std``); None
  where no row has a finite value. Missing and non-finite values are left
  out."""
  result = {}
  for name in names:
    values = [m[name] for m in members
              if m.get(name) is not None and math.isfinite(m[name])]
    result[name] = float(np.mean(values)) if values else None
    result[name + "_std"] = (float(np.std(values, ddof=1))
                             if len(values) > 1 else None)
  return result


def row(setting: plan_lib.Setting, config: TrainConfig, evaluation: dict,
        checkpoint: str = "latest") -> dict:
  """One results row: the setting, the metrics without their suffix, and
  where they come from (``checkpoint``: the one evaluated, "latest" or
  "best")."""
  return {"method": setting.method, "keep_ratio": setting.keep_ratio,
          "seed": setting.seed, **metric_values(evaluation),
          "steps": evaluation["step"],
          "backbone": evaluation["backbone"], "n": evaluation["n"],
          "split": evaluation["split"], "run": config.workdir,
          "checkpoint": "best" if checkpoint == "best" else "last",
          "bn_batches": evaluation.get("bn_batches", 0),
          "config": config.outcome(),
          "machine": runtime.machine_name()}


def stored_row(rows: Sequence[dict], setting: plan_lib.Setting,
               config: TrainConfig, checkpoint: str = "latest"
               ) -> Optional[dict]:
  """The row of ``rows`` for ``setting`` that this very configuration
  (``config.outcome()``) and reported checkpoint produced, or None (rows
  from other flags, or written before rows carried their configuration, are
  not reused)."""
  for r in rows:
    if row_matches(r, setting, config, checkpoint):
      return r
  return None


def row_matches(row: dict, setting: plan_lib.Setting, config: TrainConfig,
                checkpoint: str = "latest") -> bool:
  """Whether ``row`` is the result of ``setting`` run with ``config``
  (``config_lib.outcome_mismatch`` finds no difference) and reported at
  ``checkpoint``."""
  kind = "best" if checkpoint == "best" else "last"
  return (row["method"] == setting.method
          and row["keep_ratio"] == setting.keep_ratio
          and row["seed"] == setting.seed
          and row.get("checkpoint", "last") == kind
          and isinstance(row.get("config"), dict)
          and not config_lib.outcome_mismatch(row["config"], config))


def run_setting(config: TrainConfig, setting: plan_lib.Setting,
                checkpoint: str = "latest") -> dict:
  """Searches (or resumes) one setting, evaluates its ``checkpoint``
  ("latest" or "best": the best on the selection split, which needs
  ``eval_every``), returns its row.

  Args:
    config: the setting's configuration (``plan.setting_config``); its
      ``eval_samples``, ``eval_backbone`` and ``eval_backbone_weights`` are
      the reported evaluation's too.
    setting: the setting it was built for, named in the row.
    checkpoint: "latest" or "best".

  Raises:
    train_lib.Stopped: a signal stopped the search (nothing is evaluated).
  """
  train_lib.run_to_end(config)
  evaluation = _evaluation(config, checkpoint)
  return row(setting, config, evaluation, checkpoint)


def run_plan(base: TrainConfig, plan: Sequence[plan_lib.Setting],
             runs_dir: str, after_each: Optional[Callable[[List[dict]], None]]
             = None, checkpoint: str = "latest",
             method_bases: Optional[Dict[str, TrainConfig]] = None,
             method_flags: Optional[Dict[str, str]] = None,
             stored: Sequence[dict] = ()) -> List[dict]:
  """Runs every setting of ``plan`` in ``runs_dir``; returns their rows.

  Args:
    base: the shared configuration; each setting replaces its method, keep
      ratio, seed and workdir.
    plan: the settings, in order (``plan.study_plan`` or ``plan.sweep_plan``).
    runs_dir: where the runs' workdirs go.
    after_each: called with the rows so far after every run, so that the
      results on disk are never older than the last finished run.
    checkpoint: which checkpoint of each run is reported: "latest", or
      "best" (kept on the selection split; needs ``base.eval_every``).
    method_bases: per method, the configuration its settings start from
      instead of ``base`` (its own tuned flags).
    method_flags: per method, those flags as written, recorded in its rows
      (``flags``; "" for the shared setting).
    stored: rows of earlier runs (the results file); a setting with its row
      there (``stored_row``) is taken from it, not run.

  Raises:
    ValueError: starting with "report_checkpoint".
  """
  if checkpoint not in ("latest", "best"):
    raise ValueError("report_checkpoint must be 'latest' or 'best', got "
                     f"{checkpoint!r}")
  method_bases, method_flags = method_bases or {}, method_flags or {}
  if checkpoint == "best" and not all(
      c.eval_every for c in [base, *method_bases.values()]):
    raise ValueError("report_checkpoint: 'best' needs --eval_every (the "
                     "search keeps a best checkpoint only with it)")
  rows = []
  for i, setting in enumerate(plan):
    config = plan_lib.setting_config(base, setting, runs_dir, method_bases)
    done = stored_row(stored, setting, config, checkpoint)
    if done is not None:
      logging.info("study: run %d/%d: %s: stored, skipped", i + 1, len(plan),
                   setting.name)
      rows.append(done)
      continue
    logging.info("study: run %d/%d: %s", i + 1, len(plan), setting.name)
    rows.append(dict(run_setting(config, setting, checkpoint),
                     flags=method_flags.get(setting.method, "")))
    if after_each:
      after_each(rows)
  return rows
