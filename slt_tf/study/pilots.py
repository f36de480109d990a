"""Tuning pilots: the same settings tried for every method, judged on the
selection split only.

A pilot is a name and overrides of the shared configuration. Pilots are data:
a JSON file (``load_pilots``), e.g.::

  {"pilots": [
    {"name": "shared"},
    {"name": "lr5e-4", "flags": {"learning_rate": "5e-4"}},
    {"name": "prune_last", "flags": {"last_dense": false}, "only": ["ticket"]}
  ]}

each flag value parsed as the flag itself would parse it (a string as
written on the command line, or a JSON number or boolean). The older
``--pilot="NAME --flag=value ..."`` texts (``parse_pilot``) still work.

``tuning_runs`` makes every pilot a run for every method and seed, so that
the ticket and its baselines get the same tuning budget; a pilot can be
limited to some methods (``only``) when its flag means nothing to the others
(``--nolast_dense`` for a dense network). Each run is a resumable search in
``RUNS_DIR/<pilot>/<method>_k<keep>_s<seed>`` evaluated on the *selection*
split (the report split is never looked at while tuning) in each
``VARIANTS`` entry: the last checkpoint or the best one the search kept
(``--eval_every``), each with the search's batch-norm moving statistics or
with statistics re-estimated on the final network. The best checkpoint was
chosen on the selection split with evaluation latents of seed 0; the pilots
evaluate with other latents (``eval_seed``), which removes the sampling part
of that choice's optimism, not the real-image part. ``slt_tf.study.runner``
runs them; ``slt_tf.study.report`` tables them.
"""

import dataclasses
import json
import os
import shlex
from typing import Dict, Iterable, List, Sequence, Tuple

from absl import flags

from slt_tf import config_flags
from slt_tf.config import TrainConfig
from slt_tf import methods
from slt_tf.study import plan as plan_lib

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


def _make_pilot(name: str, pairs: Sequence[Tuple[str, str, str]],
                only: Sequence[str], where: str,
                flag_values: flags.FlagValues) -> Pilot:
  """A pilot from its name, its overrides as (flag, value text, the flag as
  written) and its methods; every value parsed as its flag parses it.

  Raises:
    ValueError: starting with ``where`` and the pilot's name.
  """
  if not name or not all(c.isalnum() or c in "._-" for c in name):
    raise ValueError(f"{where} {name!r}: the name may hold only letters, "
                     "digits and ._-")
  overrides = []
  try:
    for m in only:
      methods.get(m)
    for key, value, _ in pairs:
      if key in _PLANNED:
        raise ValueError(f"{key} is set by the plan for each run")
      overrides.append((key, config_flags.parse_value(key, value,
                                                      flag_values)))
  except ValueError as e:
    raise ValueError(f"{where} {name}: {e}") from None
  return Pilot(name, " ".join(w for _, _, w in pairs), tuple(overrides),
               tuple(only))


def parse_pilot(text: str, flag_values: flags.FlagValues = flags.FLAGS,
                flag: str = "pilot") -> Pilot:
  """A pilot from ``NAME [--flag=value | --flag | --noflag ...] [--only=m,m]``
  (the ``--pilot`` flag's text; a pilots file is ``load_pilots``'s).

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
  name, pairs, only = words[0], [], ()
  for word in words[1:]:
    if not word.startswith("--"):
      raise ValueError(f"{flag} {name}: {word!r} is not a --flag")
    key, has_value, value = word[2:].partition("=")
    if key == "only":
      only = tuple(m for m in value.split(",") if m)
      continue
    if (not has_value and key.startswith("no")
        and key not in flag_values and key[2:] in flag_values):
      key, value = key[2:], "false"
    elif not has_value:
      value = "true"
    pairs.append((key, value, word))
  return _make_pilot(name, pairs, only, flag, flag_values)


def _pilot_from_data(entry, flag_values: flags.FlagValues,
                     where: str) -> Pilot:
  """One pilot of a pilots file: {"name", "flags": {...}, "only": [...]}.

  Raises:
    ValueError: starting with ``where`` (the file and the pilot).
  """
  if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
    raise ValueError(f"{where} each pilot must be an object with a "
                     f"\"name\", got {entry!r}")
  unknown = sorted(set(entry) - {"name", "flags", "only", "about"})
  if unknown:
    raise ValueError(f"{where} {entry['name']}: unknown keys {unknown} "
                     "(expected name, flags, only, about)")
  given, only = entry.get("flags", {}), entry.get("only", [])
  if not isinstance(given, dict) or not isinstance(only, list):
    raise ValueError(f"{where} {entry['name']}: \"flags\" must be an "
                     "object and \"only\" a list of methods")
  pairs = []
  for key, value in given.items():
    if isinstance(value, bool):
      pairs.append((key, str(value).lower(),
                    f"--{key}" if value else f"--no{key}"))
    else:
      pairs.append((key, str(value), f"--{key}={value}"))
  return _make_pilot(entry["name"], pairs, [str(m) for m in only], where,
                     flag_values)


def load_pilots(path: str, flag_values: flags.FlagValues = flags.FLAGS,
                flag: str = "pilots") -> List[Pilot]:
  """The pilots of a JSON file (the module's docstring shows one).

  Raises:
    ValueError: starting with ``flag``: the file is missing or unreadable, a
      pilot is malformed, its flags are not the search's or their values
      are refused, or two pilots share a name.
  """
  try:
    with open(path) as f:
      data = json.load(f)
  except OSError as e:
    raise ValueError(f"{flag}: cannot read {path} "
                     f"({e.strerror or e})") from None
  except ValueError as e:
    raise ValueError(f"{flag}: {path} is not JSON ({e})") from None
  entries = data.get("pilots") if isinstance(data, dict) else None
  if not isinstance(entries, list) or not entries:
    raise ValueError(f"{flag}: {path} must hold {{\"pilots\": [...]}} with "
                     "at least one pilot")
  pilots = [_pilot_from_data(e, flag_values, f"{flag}: {path}:")
            for e in entries]
  names = [p.name for p in pilots]
  if len(set(names)) != len(names):
    raise ValueError(f"{flag}: {path}: pilot names must differ, got {names}")
  return pilots


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


def evaluations(config: TrainConfig, eval_seed: int, bn_batches: int
                ) -> Tuple[plan_lib.Evaluation, ...]:
  """Each ``VARIANTS`` evaluation of a pilot run on the selection split,
  with latents of ``eval_seed``; the best checkpoint's only when the search
  keeps one (``eval_every``)."""
  split = plan_lib.held_out_split(config, "selection")
  settings = config.eval.settings().replace(seed=eval_seed)
  return tuple(
      plan_lib.Evaluation(variant, checkpoint, split, settings.replace(
          bn_batches=bn_batches if bn else 0), label=f"tune_{variant}")
      for variant, checkpoint, bn in VARIANTS
      if checkpoint != "best" or config.eval.every)


def tuning_runs(pilots: Sequence[Pilot], method_names: Sequence[str],
                keep_ratio: float, seeds: Sequence[int], runs_dir: str,
                eval_seed: int = 1, bn_batches: int = 20,
                flag_values: flags.FlagValues = flags.FLAGS
                ) -> List[plan_lib.Run]:
  """The pilots' plan (``tuning_plan``) as runs: each pilot's configuration
  for the setting, in ``RUNS_DIR/<pilot>/``, its rows named by the pilot and
  its flags, evaluated in every variant (``evaluations``)."""
  runs = []
  for pilot, setting in tuning_plan(pilots, method_names, keep_ratio, seeds):
    config = run_config(pilot, setting, runs_dir, flag_values)
    columns = {"pilot": pilot.name,
               **plan_lib.setting_columns(setting, pilot.flags)}
    runs.append(plan_lib.Run(config, columns,
                             evaluations(config, eval_seed, bn_batches)))
  return runs


def row_key(row: dict) -> tuple:
  """What a pilot's row replaces in the results file: the same pilot,
  method, keep ratio, seed and variant."""
  return (row["pilot"], row["method"], row["keep_ratio"], row["seed"],
          row["variant"])
