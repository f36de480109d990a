"""Runs a plan (``slt_tf.study.plan.Run``s): each a search in its own
resumable workdir, then its evaluations, one results row each.

One rule decides what is run again, for the study, the tuning pilots and the
sweep alike:
* A run whose rows are all stored (``stored_rows``: the same columns, outcome
  configuration, variant, split and evaluation settings) is not run at all,
  so a plan resumes from its committed rows in a checkout that lacks the old
  workdirs. Rows written before rows carried their configuration never match.
* A workdir left by a run of another outcome configuration (shared flags
  changed since) is set aside and the run starts afresh (``search``), so that
  no row reports a run of other flags.
Evaluations already stored in the workdir for the same checkpoint and
settings are read back, not redone.
"""

import json
import math
import os
from typing import Callable, Iterable, List, Optional, Sequence

from absl import logging
import numpy as np

from slt_tf import config as config_lib
from slt_tf.config import TrainConfig
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf import runtime
from slt_tf.study.plan import Evaluation
from slt_tf.study.plan import Run
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib

# Row metrics, named without backbone and N (both are columns of the row).
METRICS = ("fid", "precision", "recall", "density", "coverage", "kid")


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


def row(run: Run, evaluation: Evaluation, result: dict) -> dict:
  """One results row: the run's columns, the evaluation's variant, the
  metrics without their suffix, and where they come from (the checkpoint's
  step, the run's outcome configuration, the evaluation's settings)."""
  return {**run.columns, "variant": evaluation.variant,
          **metric_values(result),
          "step": result["step"], "steps": result["step"],
          "train_steps": run.config.optim.train_steps,
          "backbone": result["backbone"], "n": result["n"],
          "split": result["split"], "run": run.config.workdir,
          "checkpoint": "best" if evaluation.checkpoint == "best" else "last",
          "bn_batches": evaluation.settings.bn_batches,
          "eval_seed": evaluation.settings.seed,
          "config": run.config.outcome(),
          "machine": runtime.machine_name()}


def config_matches(row_: dict, config: TrainConfig) -> bool:
  """Whether ``row_`` records (``"config"``) a run of ``config``'s outcome
  configuration (``config_lib.outcome_mismatch`` finds no difference)."""
  return (isinstance(row_.get("config"), dict)
          and not config_lib.outcome_mismatch(row_["config"], config))


def _variant(row_: dict) -> str:
  # The study's rows named their evaluation by checkpoint kind before rows
  # had variants.
  return row_.get("variant", row_.get("checkpoint", "last"))


def row_matches(row_: dict, run: Run, evaluation: Evaluation) -> bool:
  """Whether ``row_`` is ``evaluation`` of ``run``: the same columns,
  variant, split, latent seed and re-estimation, and outcome configuration
  (which holds N and the backbone)."""
  return (all(row_.get(k, "" if k == "flags" else None) == v
              for k, v in run.columns.items())
          and _variant(row_) == evaluation.variant
          and row_.get("split") == evaluation.split
          and row_.get("eval_seed", 0) == evaluation.settings.seed
          and row_.get("bn_batches", 0) == evaluation.settings.bn_batches
          and config_matches(row_, run.config))


def stored_rows(rows: Iterable[dict], run: Run) -> Optional[List[dict]]:
  """The rows of ``run``'s evaluations, in order, if ``rows`` hold every one
  of them; else None."""
  rows = list(rows)
  found = []
  for evaluation in run.evaluations:
    match = next((r for r in rows if row_matches(r, run, evaluation)), None)
    if match is None:
      return None
    found.append(match)
  return found


def belongs(row_: dict, runs: Sequence[Run]) -> bool:
  """Whether ``row_`` is one of the rows of ``runs`` (a plan's file keeps
  only those: not rows of other flags, or of runs no longer planned)."""
  return any(row_matches(row_, run, e) for run in runs
             for e in run.evaluations)


def _stored_differences(workdir: str, config: TrainConfig) -> list:
  """How the run in ``workdir`` (its ``config.json``) differs from
  ``config`` in outcome, as "name: old -> new"; [] when there is no run
  yet or it is the same one."""
  try:
    with open(workdir_lib.config_path(workdir)) as f:
      stored = json.load(f)
  except FileNotFoundError:
    return []
  except (OSError, ValueError):
    return ["config.json: unreadable"]
  return config_lib.outcome_mismatch(stored, config)


def search(config: TrainConfig) -> None:
  """Searches (or resumes) one run of a plan to ``config.optim.train_steps``.

  A plan's run resumes only a workdir of the same outcome configuration. A
  workdir of other flags (a shared flag changed since, say
  ``--ama_learning_rate``) would otherwise be resumed, not redone, and its
  old checkpoints reported under the new flags: it is renamed to
  ``WORKDIR.stale-N`` (kept, not deleted) and the run starts afresh.

  Raises:
    train_lib.Stopped: a signal stopped the search.
  """
  differences = _stored_differences(config.workdir, config)
  if differences:
    n = 1
    while os.path.exists(f"{config.workdir}.stale-{n}"):
      n += 1
    aside = f"{config.workdir}.stale-{n}"
    os.rename(config.workdir, aside)
    logging.warning("%s holds a run of other flags (%s): moved to %s, the run "
                    "starts afresh", config.workdir, "; ".join(differences),
                    aside)
  train_lib.run_to_end(config)


def evaluate(run: Run, evaluation: Evaluation) -> dict:
  """``evaluation`` of ``run``'s searched workdir (the stored result when the
  workdir holds it for the same checkpoint and settings)."""
  return evaluator_lib.evaluate_workdir(
      run.config.workdir, evaluation.checkpoint, evaluation.split,
      evaluation.settings, label=evaluation.label, reuse=True,
      cache_dir=run.config.data.cache_dir)


def run_one(run: Run) -> List[dict]:
  """Searches (or resumes) ``run``, evaluates it; its rows.

  Raises:
    train_lib.Stopped: a signal stopped the search (nothing is evaluated).
  """
  search(run.config)
  return [row(run, e, evaluate(run, e)) for e in run.evaluations]


def run_plan(runs: Sequence[Run], stored: Sequence[dict] = (),
             after_each: Optional[Callable[[List[dict]], object]] = None,
             kind: str = "plan") -> List[dict]:
  """Runs every run of ``runs`` in order; returns their rows.

  Args:
    runs: the plan (``plan.study_runs``, ``pilots.tuning_runs``).
    stored: rows of earlier runs (the results file); a run with all its rows
      there (``stored_rows``) is taken from it, not run.
    after_each: called with each run's new rows as it finishes (merging them
      into the results file), so that the results on disk are never older
      than the last finished run.
    kind: names the plan in progress messages ("study", "tuning").

  Raises:
    train_lib.Stopped: a signal stopped a search; the plan stops with it.
  """
  rows = []
  for i, run in enumerate(runs):
    done = stored_rows(stored, run)
    if done is not None:
      logging.info("%s: run %d/%d: %s: stored, skipped", kind, i + 1,
                   len(runs), run.name)
      rows += done
      continue
    logging.info("%s: run %d/%d: %s", kind, i + 1, len(runs), run.name)
    new = run_one(run)
    rows += new
    if after_each:
      after_each(new)
  return rows
