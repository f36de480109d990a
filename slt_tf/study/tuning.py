"""Tuning pilots: the same settings tried for every method, judged on the
selection split only.

A pilot is a name and flag overrides of the shared configuration, e.g.
``lr5e-4 --learning_rate=5e-4`` (``parse_pilot``). ``tuning_plan`` runs every
pilot for every method and seed, so that the ticket and its baselines get the
same tuning budget; a pilot can be limited to some methods (``--only=ticket``)
when its flag means nothing to the others (``--nolast_dense`` for a dense
network). Each run is a resumable search in
``RUNS_DIR/<pilot>/<method>_k<keep>_s<seed>``; after it, ``evaluate_run``
evaluates it on the *selection* split (the report split is never looked at
while tuning) in each ``VARIANTS`` entry: the last checkpoint or the best one
the search kept (``--eval_every``), each with the search's batch-norm moving
statistics or with statistics re-estimated on the final network. The best
checkpoint was chosen on the selection split with evaluation latents of seed
0; the pilots evaluate with other latents (``eval_seed``), which removes the
sampling part of that choice's optimism, not the real-image part.

Rows go to a JSON file that several processes may share (``merge_rows``
locks it), one row per run and variant, written as each run finishes.
"""

import dataclasses
import os
import shlex
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from absl import flags
from absl import logging

from slt_tf import config_flags
from slt_tf.config import TrainConfig
from slt_tf.data import datasets
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf import fileio
from slt_tf import methods
from slt_tf import runtime
from slt_tf.study import plan as plan_lib
from slt_tf.study import runner
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib

# (variant, checkpoint, re-estimate batch norms).
VARIANTS = (("last", "latest", False), ("last_bn", "latest", True),
            ("best", "best", False), ("best_bn", "best", True))
# Fields the plan sets per run; a pilot may not override them.
_PLANNED = ("method", "keep_ratio", "seed", "workdir")


@dataclasses.dataclass(frozen=True)
class Pilot:
  """A named set of overrides of the shared configuration.

  Attributes:
    name: names the pilot's runs directory and its rows.
    flags: the overrides as written (``--learning_rate=5e-4 ...``).
    overrides: (field, value) pairs, parsed as the flags would be.
    only: the methods it runs for (empty: every method of the plan).
  """
  name: str
  flags: str
  overrides: Tuple[Tuple[str, object], ...]
  only: Tuple[str, ...] = ()


def parse_pilot(text: str, flag_values: flags.FlagValues = flags.FLAGS,
                flag: str = "pilot") -> Pilot:
  """A pilot from ``NAME [--flag=value | --flag | --noflag ...] [--only=m,m]``.

  Args:
    text: the pilot as written.
    flag_values: the search's flags (``config_flags.define``).
    flag: the flag it came from, which starts every error.

  Raises:
    ValueError: starting with ``flag``, naming the text and what is wrong.
  """
  words = shlex.split(text)
  if not words or words[0].startswith("-"):
    raise ValueError(f"{flag} {text!r}: expected a name, then flags")
  name, overrides, only, kept = words[0], [], (), []
  if not all(c.isalnum() or c in "._-" for c in name):
    raise ValueError(f"{flag} {text!r}: the name may hold only letters, "
                     "digits and ._-")
  for word in words[1:]:
    if not word.startswith("--"):
      raise ValueError(f"pilot {name}: {word!r} is not a --flag")
    key, has_value, value = word[2:].partition("=")
    try:
      if key == "only":
        only = tuple(m for m in value.split(",") if m)
        for m in only:
          methods.get(m)
        continue
      if (not has_value and key.startswith("no")
          and key not in flag_values and key[2:] in flag_values):
        key, value = key[2:], "false"
      elif not has_value:
        value = "true"
      if key in _PLANNED:
        raise ValueError(f"{key} is set by the plan for each run")
      overrides.append((key, config_flags.parse_value(key, value,
                                                      flag_values)))
    except ValueError as e:
      raise ValueError(f"{flag} {name}: {e}") from None
    kept.append(word)
  return Pilot(name, " ".join(kept), tuple(overrides), only)


def pilot_config(pilot: Pilot, flag_values: flags.FlagValues = flags.FLAGS,
                 flag: str = "pilot") -> TrainConfig:
  """The shared configuration (the parsed flags) with the pilot's
  overrides.

  Raises:
    ValueError: starting with ``flag`` (the flag the pilot came from).
  """
  try:
    return config_flags.config(flag_values, **dict(pilot.overrides))
  except ValueError as e:
    raise ValueError(f"{flag} {pilot.name}: {e}") from None


def method_overrides(texts: Sequence[str], method_names: Iterable[str],
                     flag_values: flags.FlagValues = flags.FLAGS
                     ) -> Dict[str, Tuple[Pilot, TrainConfig]]:
  """The study's ``--method_flags``: ``METHOD --flag=value ...`` each, as a
  pilot named by its method; method -> (pilot, its configuration).

  Raises:
    ValueError: starting with "method_flags": a text that does not parse, a
      method not in ``method_names`` or given twice, ``--only``, or flags the
      configuration refuses.
  """
  flag, result, known = "method_flags:", {}, set(method_names)
  for text in texts:
    parsed = parse_pilot(text, flag_values, flag)
    if parsed.name not in known:
      raise ValueError(f"{flag} {parsed.name!r} is not a method of the plan")
    if parsed.name in result:
      raise ValueError(f"{flag} {parsed.name} is given twice")
    if parsed.only:
      raise ValueError(f"{flag} {parsed.name}: --only means nothing here")
    result[parsed.name] = (parsed, pilot_config(parsed, flag_values, flag))
  return result


def tuning_plan(pilots: Sequence[Pilot], method_names: Sequence[str],
                keep_ratio: float, seeds: Sequence[int]
                ) -> List[Tuple[Pilot, plan_lib.Setting]]:
  """Every pilot for every method (its ``only`` permitting) and seed.

  Pilots are the outer loop, so a tuning stopped early holds complete
  comparisons for its first pilots.
  """
  result = []
  for pilot in pilots:
    for method in method_names:
      if pilot.only and method not in pilot.only:
        continue
      keep = 1.0 if method in plan_lib.UNMASKED else keep_ratio
      result += [(pilot, plan_lib.Setting(method, keep, s)) for s in seeds]
  return result


def run_config(pilot: Pilot, setting: plan_lib.Setting, runs_dir: str,
               flag_values: flags.FlagValues = flags.FLAGS) -> TrainConfig:
  """The configuration of one pilot run (its own workdir)."""
  return plan_lib.setting_config(pilot_config(pilot, flag_values), setting,
                                 os.path.join(runs_dir, pilot.name))


def selection_split(config: TrainConfig) -> str:
  """The split the pilots are judged on."""
  return datasets.held_out_splits(config.dataset, config.data_dir,
                                  config.holdout).selection


def evaluate_run(config: TrainConfig, eval_seed: int, bn_batches: int
                 ) -> Dict[str, dict]:
  """Each ``VARIANTS`` evaluation of a finished run on the selection split
  (the stored one when it exists for the same checkpoint, N, seed and
  re-estimation); variant -> evaluation. The best-checkpoint variants are
  left out when the run kept none (no ``eval_every``)."""
  split = selection_split(config)
  has_best = os.path.exists(workdir_lib.best_record_path(config.workdir))
  result = {}
  for variant, checkpoint, bn in VARIANTS:
    if checkpoint == "best" and not has_best:
      continue
    result[variant] = evaluator_lib.evaluate_workdir(
        config.workdir, checkpoint, split, label=f"tune_{variant}",
        reuse=True, num_samples=config.eval_samples,
        backbone=config.eval_backbone,
        backbone_weights=config.eval_backbone_weights,
        cache_dir=config.cache_dir, seed=eval_seed,
        bn_batches=bn_batches if bn else 0)
  return result


def rows_of(pilot: Pilot, setting: plan_lib.Setting, config: TrainConfig,
            evaluations: Dict[str, dict]) -> List[dict]:
  """A row per variant: the pilot, the setting, the metrics without their
  suffix, and where they come from."""
  rows = []
  for variant, evaluation in evaluations.items():
    rows.append({
        "pilot": pilot.name, "flags": pilot.flags, "method": setting.method,
        "keep_ratio": setting.keep_ratio, "seed": setting.seed,
        "variant": variant, **runner.metric_values(evaluation),
        "step": evaluation["step"],
        "train_steps": config.train_steps, "backbone": evaluation["backbone"],
        "n": evaluation["n"], "split": evaluation["split"],
        "run": config.workdir, "machine": runtime.machine_name()})
  return rows


def _key(row: dict) -> tuple:
  return (row["pilot"], row["method"], row["keep_ratio"], row["seed"],
          row["variant"])


def merge_rows(path: str, new_rows: Iterable[dict],
               then: Optional[Callable[[List[dict]], None]] = None
               ) -> List[dict]:
  """Adds ``new_rows`` to the rows in ``path`` (``fileio.merge_json_rows``:
  locked, so the shards of one plan can share the file; a row replaces the
  one of the same pilot, method, keep ratio, seed and variant); returns all
  rows. ``then`` is called with them while the file is still locked."""
  return fileio.merge_json_rows(path, new_rows, _key, then=then)


def expected_variants(config: TrainConfig) -> Tuple[str, ...]:
  """The ``VARIANTS`` a finished run of ``config`` is evaluated in (the best
  checkpoint's only when the search keeps one)."""
  return tuple(v for v, checkpoint, _ in VARIANTS
               if checkpoint != "best" or config.eval_every)


def stored_rows(rows: Iterable[dict], pilot: Pilot,
                setting: plan_lib.Setting, config: TrainConfig,
                split: str) -> Optional[List[dict]]:
  """The rows of an earlier run of this pilot and setting, if ``rows`` hold
  every expected variant with the same pilot flags, step budget, N and
  split; else None.

  The rows, not the run's workdir, are what a new checkout has (workdirs are
  not committed), so a tuning resumed on another machine skips what is done.
  """
  found = {}
  for r in rows:
    if (r["pilot"] == pilot.name and r["method"] == setting.method
        and r["keep_ratio"] == setting.keep_ratio
        and r["seed"] == setting.seed and r["flags"] == pilot.flags
        and r["train_steps"] == config.train_steps
        and r["n"] == config.eval_samples and r["split"] == split):
      found[r["variant"]] = r
  wanted = expected_variants(config)
  if not all(v in found for v in wanted):
    return None
  return [found[v] for v in wanted]


def run_tuning(plan: Sequence[Tuple[Pilot, plan_lib.Setting]], runs_dir: str,
               results_json: str, eval_seed: int = 1, bn_batches: int = 20,
               flag_values: flags.FlagValues = flags.FLAGS,
               after_each: Optional[Callable[[List[dict]], None]] = None
               ) -> List[dict]:
  """Searches (or resumes) and evaluates every run of ``plan``, merging its
  rows into ``results_json`` as each run finishes; returns all rows of the
  file (other shards' too). A run whose rows the file already holds
  (``stored_rows``) is skipped.

  Args:
    after_each: called with all rows after every run, before another shard
      can add its own (so the last table written holds every row).
  """
  rows = merge_rows(results_json, [])
  for i, (pilot, setting) in enumerate(plan):
    config = run_config(pilot, setting, runs_dir, flag_values)
    if stored_rows(rows, pilot, setting, config,
                   selection_split(config)) is not None:
      logging.info("tuning: run %d/%d: %s %s: stored in %s, skipped", i + 1,
                   len(plan), pilot.name, setting.name, results_json)
      continue
    logging.info("tuning: run %d/%d: %s %s", i + 1, len(plan), pilot.name,
                 setting.name)
    train_lib.run_to_end(config)
    rows = merge_rows(results_json, rows_of(
        pilot, setting, config, evaluate_run(config, eval_seed, bn_batches)),
                      then=after_each)
  return rows


def summary(rows: Iterable[dict]) -> List[dict]:
  """Mean and sample std of FID, precision and recall over seeds per
  (pilot, method, variant), in the rows' order."""
  groups: Dict[tuple, List[dict]] = {}
  for r in rows:
    groups.setdefault((r["pilot"], r["method"], r["variant"]), []).append(r)
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


def table(rows: Sequence[dict]) -> str:
  """The pilots as Markdown: one line per (pilot, method, variant), then the
  chosen setting per method."""
  entries = summary(rows)
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


def write_table(rows: Sequence[dict], path: str, command: str,
                base: Optional[TrainConfig] = None) -> None:
  """Writes the pilots' table to ``path`` (Markdown), atomically."""
  header = ["# Tuning pilots", "", f"Generated by `{command}`.", ""]
  if base is not None:
    header += [f"Shared setting: {base.arch} at {base.resolution} px on "
               f"`{base.dataset}`, `{base.features}` features, batch "
               f"{base.batch_size}; each pilot's flags replace these.", ""]
  fileio.write_atomic(path, ("\n".join(header) + table(rows)).encode())
