"""What a plan runs: settings (method, keep ratio, seed), and runs as data.

A plan is a list of ``Run``s: each a search's configuration, the columns that
name it in the results rows, and its ``Evaluation``s (one row each).
``slt_tf.study.runner`` runs any plan; the study, the tuning pilots
(``slt_tf.study.pilots``) and the sweep only build theirs.

``study_plan`` is the reproduction study's settings (tickets at several keep
ratios and every baseline, for several seeds; ``study_runs`` makes them
runs); ``sweep_plan`` is its preset for ``python -m slt_tf.sweep`` (tickets
and the dense baseline, one seed).
"""

import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Tuple

from slt_tf.config import TrainConfig
from slt_tf.eval_settings import EvalSettings
from slt_tf import methods
from slt_tf.ticket import masking

# Methods whose keep ratio means nothing (no mask).
UNMASKED = ("dense", "random_dense", "finetune")


@dataclasses.dataclass(frozen=True)
class Setting:
  """One run of a study."""
  method: str
  keep_ratio: float
  seed: int

  @property
  def group(self) -> str:
    """The name shared by every seed of this method and keep ratio."""
    return f"{self.method}_k{self.keep_ratio:g}"

  @property
  def name(self) -> str:
    return f"{self.group}_s{self.seed}"


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """One evaluation of a run's checkpoint: one results row.

  Attributes:
    variant: names it in the rows: "last" or "best" (the study), or one of
      ``slt_tf.study.pilots.VARIANTS`` ("last_bn", ...).
    checkpoint: "latest" or "best" (kept on the selection split).
    split: the real split compared against.
    settings: what is computed.
    label: names its result file ``eval/<role>/<label>.json`` (None: the
      evaluator's own name, ``step_N...``).
  """
  variant: str
  checkpoint: str
  split: str
  settings: EvalSettings
  label: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Run:
  """A search of a plan and its evaluations.

  Attributes:
    config: the search's configuration (its own workdir).
    columns: what names the run in its rows (method, keep ratio, seed; the
      flags that replaced the shared ones; a pilot's name).
    evaluations: its evaluations, one row each.
  """
  config: TrainConfig
  columns: Dict[str, object]
  evaluations: Tuple[Evaluation, ...]

  @property
  def name(self) -> str:
    """The run's workdir name (``<method>_k<keep>_s<seed>``), after its
    pilot's name for a pilot's run."""
    name = os.path.basename(self.config.workdir)
    pilot = self.columns.get("pilot")
    return f"{pilot}/{name}" if pilot else name


def held_out_split(config: TrainConfig, role: str) -> str:
  """The held-out split of ``role`` ("selection" or "report") of the
  configuration's dataset."""
  return getattr(config.data.source().held_out_splits(), role)


def setting_columns(setting: "Setting", flags: str = "") -> Dict[str, object]:
  """A setting's columns in the rows (and the flags it runs with)."""
  return {"method": setting.method, "keep_ratio": setting.keep_ratio,
          "seed": setting.seed, "flags": flags}


def study_runs(base: TrainConfig, settings: Sequence["Setting"],
               runs_dir: str, checkpoint: str = "latest",
               method_bases: Optional[Dict[str, TrainConfig]] = None,
               method_flags: Optional[Dict[str, str]] = None) -> List[Run]:
  """The study's (and the sweep's) runs: each setting's search, evaluated on
  the report split at ``checkpoint`` with the search's evaluation settings.

  Args:
    base: the shared configuration.
    settings: the plan's settings, in order.
    runs_dir: where the runs' workdirs go.
    checkpoint: "latest", or "best" (kept on the selection split; needs
      ``eval_every``).
    method_bases: per method, the configuration its settings start from
      instead of ``base`` (its own tuned flags).
    method_flags: per method, those flags as written (the rows' ``flags``).

  Raises:
    ValueError: starting with "report_checkpoint".
  """
  if checkpoint not in ("latest", "best"):
    raise ValueError("report_checkpoint must be 'latest' or 'best', got "
                     f"{checkpoint!r}")
  method_bases, method_flags = method_bases or {}, method_flags or {}
  if checkpoint == "best" and not all(
      c.eval.every for c in [base, *method_bases.values()]):
    raise ValueError("report_checkpoint: 'best' needs --eval_every (the "
                     "search keeps a best checkpoint only with it)")
  variant = "best" if checkpoint == "best" else "last"
  runs = []
  for setting in settings:
    config = setting_config(base, setting, runs_dir, method_bases)
    evaluation = Evaluation(variant, checkpoint,
                            held_out_split(config, "report"),
                            config.eval.settings())
    runs.append(Run(config, setting_columns(
        setting, method_flags.get(setting.method, "")), (evaluation,)))
  return runs


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


def study_plan(keep_ratios: Sequence[float], baselines: Sequence[str],
             baseline_keep_ratio: float, seeds: Sequence[int],
             extra_seeds: Sequence[int] = (),
             extra_seed_groups: Sequence[str] = ()) -> List[Setting]:
  """Tickets at each keep ratio, then each baseline, for every seed.

  Seeds are the outer loop, so that a study stopped early holds complete
  comparisons for its first seeds. ``extra_seeds`` then run for the settings
  named in ``extra_seed_groups`` only (by ``Setting.group``, "ticket_k0.1"):
  more seeds where the spread across seeds is large, without running every
  setting again.

  Raises:
    ValueError: starting with "baselines", for an unknown or unusable method;
      with "extra_seed_groups" or "extra_seeds", for a group not in the plan,
      a seed already planned, or one of the two given without the other.
  """
  for name in baselines:
    if name not in methods.METHODS or name in ("ticket", "finetune"):
      raise ValueError(f"baselines must be among {methods.METHODS[1:-1]}, "
                       f"got {name!r}")
  def one_seed(seed):
    return ([Setting("ticket", k, seed) for k in keep_ratios]
            + [Setting(b, 1.0 if b in UNMASKED else baseline_keep_ratio, seed)
               for b in baselines])
  result = [s for seed in seeds for s in one_seed(seed)]
  if bool(extra_seeds) != bool(extra_seed_groups):
    raise ValueError("extra_seeds and extra_seed_groups go together, got "
                     f"{list(extra_seeds)} and {list(extra_seed_groups)}")
  groups = [s.group for s in one_seed(0)]
  for group in extra_seed_groups:
    if group not in groups:
      raise ValueError(f"extra_seed_groups must be among {groups}, got "
                       f"{group!r}")
  for seed in extra_seeds:
    if seed in seeds:
      raise ValueError(f"extra_seeds must not repeat --seeds, got {seed}")
    result += [s for s in one_seed(seed) if s.group in extra_seed_groups]
  return result


def setting_config(base: TrainConfig, setting: Setting, runs_dir: str,
                   method_bases: Optional[Dict[str, TrainConfig]] = None
                   ) -> TrainConfig:
  """``base`` (or the setting's method's own one in ``method_bases``, its
  tuned flags) with the setting's method, keep ratio, seed and workdir, and
  its steps (``methods.study_steps``: a baseline that trains nothing stops
  at its first evaluation)."""
  base = (method_bases or {}).get(setting.method, base)
  ticket = dataclasses.replace(base.ticket, seed=setting.seed,
                               keep_ratio=setting.keep_ratio,
                               mode=methods.get(setting.method).layer_mode)
  return base.replace(workdir=os.path.join(runs_dir, setting.name),
                      method=setting.method, ticket=ticket,
                      train_steps=methods.study_steps(
                          setting.method, base.optim.train_steps,
                          base.eval.every))


def sweep_plan(keep_ratios: Sequence[float], dense: bool, seed: int
               ) -> List[Setting]:
  """The sweep's preset: tickets at ``keep_ratios``, then the dense baseline
  if ``dense``, all with one seed."""
  return study_plan(keep_ratios, ["dense"] if dense else [], 1.0, [seed])


def shard(plan: Sequence, index: int, count: int) -> list:
  """Every ``count``-th entry of ``plan`` from ``index``: one process's share
  when several run one plan at once (each on its own core).

  Raises:
    ValueError: starting with "shard".
  """
  if count < 1 or not 0 <= index < count:
    raise ValueError(f"shard must be I/N with 0 <= I < N, got {index}/{count}")
  return list(plan[index::count])


def parse_shard(text: str) -> Tuple[int, int]:
  """``"I/N"`` -> (I, N).

  Raises:
    ValueError: starting with "shard".
  """
  try:
    index, count = (int(v) for v in text.split("/"))
  except ValueError:
    raise ValueError(f"shard must be I/N, got {text!r}") from None
  shard([], index, count)  # Checks the range.
  return index, count
