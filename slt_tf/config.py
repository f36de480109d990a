"""The configuration of a run: a frozen dataclass of groups.

``TrainConfig`` holds ``workdir``, ``method`` and ``init_from``, and one group
per concern, each validating itself beside the code that uses it:

* ``model``: ``generators.model_config.ModelConfig`` (architecture, sizes);
* ``ticket``: ``ticket.options.TicketOptions`` (how masked layers are made);
* ``data``: ``data.data_config.DataConfig`` (images, split, caches);
* ``features``: ``features.features_config.FeaturesConfig`` (the extractor);
* ``optim``: ``OptimConfig`` (batch, steps, the optimisers' rates);
* ``eval``: ``eval_settings.EvalConfig`` (the search's evaluations);
* ``adversarial``: ``AdversarialConfig`` (the adversarial baseline's
  discriminator);
* ``runtime``: ``RuntimeConfig`` (devices, precision, cadence of logs and
  checkpoints).

Every field has one flat name, its flag's, which users type, ``config.json``
and results rows use (``make``, ``replace`` and ``to_json`` speak it); code
reads the grouped path (``config.optim.learning_rate``). Every validation
error message starts with that flat name, so that entry points can report
``--name ...``. Validation uses name tables only, so importing this module
loads no TensorFlow; what comes from the data (channels, an image folder's
classes) is filled in by ``slt_tf.resolve``, which the entry points and
``train_lib.run`` call.
"""

import dataclasses
import json
import math
from typing import Optional

from slt_tf import config_fields
from slt_tf.config_fields import check_name
from slt_tf.data.data_config import DataConfig
from slt_tf.eval_settings import EvalConfig
from slt_tf.features.features_config import FeaturesConfig
from slt_tf.generators.model_config import ModelConfig
from slt_tf import methods
from slt_tf import precision as precision_lib
from slt_tf.ticket.options import FROM_MODEL
from slt_tf.ticket.options import TicketOptions

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
# Each learning-rate schedule and the phrase reports append to "Adam lr X"
# to describe it; a new schedule is added here and in
# slt_tf.search.state.learning_rate.
LR_SCHEDULE_PHRASES = {
    "constant": "",
    "cosine": " decayed to 0 by a cosine over the steps",
    "cosine_cycle": " in a 20-step cosine cycle (the authors')",
}
LR_SCHEDULES = tuple(LR_SCHEDULE_PHRASES)
# Where the moment moving averages start (slt_tf.search.losses).
AMA_INITS = ("zeros", "uniform")

# What a config.json written before a field existed meant by its absence.
_OLD_DEFAULTS = {"channels": 3}


def _positive(group, names, minimum=1):
  for name in names:
    value = getattr(group, name)
    if value < minimum:
      raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclasses.dataclass(frozen=True)
class OptimConfig:
  """The search's optimisation: batch, budget, the scores' (or weights')
  Adam and the moment moving averages; validated at construction."""
  batch_size: int = config_fields.field(
      64, "Global batch size.", role=config_fields.IDENTITY)
  train_steps: int = config_fields.field(
      1000, "Total steps; a resumed run continues up to it.")
  learning_rate: float = config_fields.field(
      5e-5, "Adam learning rate of the scores.")
  lr_schedule: str = config_fields.field(
      "constant", f"{LR_SCHEDULES}; cosine decays to 0 over train_steps; "
      "cosine_cycle is the authors' (PyTorch CosineAnnealingLR(T_max=10) "
      "stepped every iteration): a 20-step cycle between the peak and 0, for "
      "the scores and the moment moving averages alike.")
  beta1: float = config_fields.field(
      0.5, "Adam beta1.")
  beta2: float = config_fields.field(
      0.999, "Adam beta2.")
  adam_epsilon: float = config_fields.field(
      1e-8, "Adam epsilon.")
  ama_learning_rate: float = config_fields.field(
      1e-5, "Learning rate of the moment moving averages.")
  ama_init: str = config_fields.field(
      "zeros", "Start of the moment moving averages: zeros, or uniform "
      "(U(+-1/sqrt(D)), PyTorch's nn.Linear default, as the authors hold "
      "them), drawn from --seed.")

  def __post_init__(self):
    if self.batch_size < 2:
      raise ValueError(f"batch_size must be >= 2 (the unbiased variance "
                       f"needs two images), got {self.batch_size}")
    _positive(self, ("train_steps",))
    _check_rates(self, ("learning_rate", "ama_learning_rate", "adam_epsilon"),
                 ("beta1", "beta2"))
    check_name(self.lr_schedule, LR_SCHEDULES, "lr_schedule")
    check_name(self.ama_init, AMA_INITS, "ama_init")


def _check_rates(group, rates, betas, prefix=""):
  for name in rates:
    value = getattr(group, name)
    if not (value > 0 and math.isfinite(value)):
      raise ValueError(f"{prefix}{name} must be a finite number > 0, "
                       f"got {value}")
  for name in betas:
    if not 0 <= getattr(group, name) < 1:
      raise ValueError(f"{prefix}{name} must be in [0, 1), "
                       f"got {getattr(group, name)}")


@dataclasses.dataclass(frozen=True)
class AdversarialConfig:
  """The SNGAN discriminator of ``--method=adversarial_ticket`` and its Adam
  (flags ``--d_*``); validated at construction."""
  width: int = config_fields.field(
      128, "adversarial_ticket: SNGAN discriminator base width.",
      role=config_fields.IDENTITY, name="d_width")
  learning_rate: float = config_fields.field(
      2e-4, "adversarial_ticket: discriminator Adam learning rate.",
      name="d_learning_rate")
  beta1: float = config_fields.field(
      0.5, "adversarial_ticket: discriminator Adam beta1.", name="d_beta1")
  beta2: float = config_fields.field(
      0.999, "adversarial_ticket: discriminator Adam beta2.", name="d_beta2")

  def __post_init__(self):
    if self.width < 1:
      raise ValueError(f"d_width must be >= 1, got {self.width}")
    _check_rates(self, ("learning_rate",), ("beta1", "beta2"), prefix="d_")


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
  """Where and how the search runs and reports: devices, arithmetic, and
  the cadence of logs, samples and checkpoints; validated at construction."""
  checkpoint_every: int = config_fields.field(
      500, "Steps between checkpoints.", role=config_fields.NEITHER)
  keep_checkpoints: int = config_fields.field(
      3, "Checkpoints kept on disk.", role=config_fields.NEITHER)
  log_every: int = config_fields.field(
      50, "Steps between console lines and scalar summaries.",
      role=config_fields.NEITHER)
  sample_every: int = config_fields.field(
      500, "Steps between sample grids and mask statistics.",
      role=config_fields.NEITHER)
  grid_size: int = config_fields.field(
      64, "Images in the sample grid (fixed latents), written every "
      "--sample_every steps.", role=config_fields.NEITHER)
  strategy: str = config_fields.field(
      "auto", f"{STRATEGIES}; auto: MirroredStrategy on "
      "2+ GPUs, else one device; multi_worker reads TF_CONFIG.")
  cpu_replicas: int = config_fields.field(
      1, "With --strategy=mirrored and no GPU: split the CPU "
      "into this many replicas (testing).")
  precision: str = config_fields.field(
      "float32", f"The search step's arithmetic, one of "
      f"{precision_lib.PRECISIONS}: bfloat16 and float16 run convolutions and "
      "products in that precision (Keras mixed precision; scores, masks, "
      "moments and loss stay float32; float16 scales the loss). Checkpoints "
      "stay float32 and resume in any precision; evaluation and export run in "
      "float32.")
  jit_compile: bool = config_fields.field(
      False, "Compile the search step with XLA (mask selection by bisection "
      "then): the whole step on one device, each replica's part under "
      "MirroredStrategy on GPUs; refused with --cpu_replicas > 1 and "
      "multi_worker.")
  collective_timeout_s: int = config_fields.field(
      1800, "multi_worker: fail instead of hanging when "
      "a collective waits longer than this for another worker (0: no limit).",
      role=config_fields.NEITHER)

  def __post_init__(self):
    _positive(self, ("checkpoint_every", "keep_checkpoints", "log_every",
                     "sample_every", "grid_size", "cpu_replicas"))
    _positive(self, ("collective_timeout_s",), minimum=0)
    check_name(self.strategy, STRATEGIES, "strategy")
    check_name(self.precision, precision_lib.PRECISIONS, "precision")
    if self.cpu_replicas > 1 and self.strategy != "mirrored":
      raise ValueError("cpu_replicas > 1 needs strategy 'mirrored'")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything that defines a search run, in groups; validated at
  construction. Build one from flat names with ``make`` (or from flags:
  ``slt_tf.config_flags.config``), change one with ``replace``.

  ``IDENTITY_FIELDS`` are what a workdir's checkpoints are; ``outcome()`` is
  what a run computes.
  """
  workdir: str = config_fields.field(
      dataclasses.MISSING, "Directory for checkpoints, summaries, samples and the "
      "effective flags of the run.", role=config_fields.NEITHER)
  method: str = config_fields.field(
      "ticket", f"{methods.METHODS}: ticket (train the scores of a frozen "
      "random network), or a baseline: dense (train the weights), random_mask, "
      "random_dense (train nothing), adversarial_ticket (scores driven by a "
      "hinge GAN loss with the SNGAN discriminator), finetune (train the kept "
      "weights of the ticket in --init_from). Sets the masked layers' mode.",
      role=config_fields.IDENTITY)
  init_from: Optional[str] = config_fields.field(
      None, "finetune: workdir of the ticket to fine-tune.",
      role=config_fields.IDENTITY)
  model: ModelConfig = config_fields.group(ModelConfig, "The generator.")
  ticket: TicketOptions = config_fields.group(
      TicketOptions, "How the masked layers are made; its fields are flags "
      "of their own (--keep_ratio, --seed, ...).", json=config_fields.NESTED,
      role=config_fields.IDENTITY)
  data: DataConfig = config_fields.group(DataConfig, "The real data.")
  features: FeaturesConfig = config_fields.group(
      FeaturesConfig, "The frozen feature extractor.")
  optim: OptimConfig = config_fields.group(OptimConfig, "The optimisation.")
  eval: EvalConfig = config_fields.group(
      EvalConfig, "The search's evaluations.")
  adversarial: AdversarialConfig = config_fields.group(
      AdversarialConfig, "The adversarial baseline's discriminator.")
  runtime: RuntimeConfig = config_fields.group(
      RuntimeConfig, "Devices, precision, logging and checkpoints.")

  def __post_init__(self):
    if not self.workdir:
      raise ValueError("workdir is required (a directory for checkpoints, "
                       "summaries and samples)")
    self._resolve_method()
    if self.model.is_user and self.ticket.bn_affine:
      raise ValueError(f"bn_affine: a user architecture ({self.model.arch}) "
                       "keeps its own batch norms (their center/scale), "
                       "frozen in ticket mode")
    if not self.model.is_user and self.ticket.weight_init == FROM_MODEL:
      raise ValueError(f"weight_init: {FROM_MODEL!r} (a model's own weights) "
                       "needs a user architecture, --arch=MODULE:FUNCTION")
    if self.optim.batch_size % self.runtime.cpu_replicas:
      raise ValueError(f"batch_size ({self.optim.batch_size}) must be "
                       f"divisible by the replica count "
                       f"({self.runtime.cpu_replicas})")

  def _resolve_method(self):
    method = methods.get(self.method)
    if self.ticket.mode != method.layer_mode:
      # The layers' mode follows the method; only its default may be left.
      if self.ticket.mode != TicketOptions().mode:
        raise ValueError(f"method {self.method!r} needs mode "
                         f"{method.layer_mode!r}, got mode "
                         f"{self.ticket.mode!r} (the method sets the mode)")
      # A frozen dataclass: the one derived field is set once, here.
      object.__setattr__(self, "ticket", dataclasses.replace(
          self.ticket, mode=method.layer_mode))
    if method.needs_ticket and not self.init_from:
      raise ValueError(f"init_from is required by method {self.method!r} "
                       "(the workdir of the ticket whose kept weights are "
                       "fine-tuned)")
    if self.init_from and not method.needs_ticket:
      raise ValueError(f"init_from is only used by method 'finetune', not "
                       f"{self.method!r}")

  @property
  def method_spec(self) -> methods.Method:
    return methods.get(self.method)

  @property
  def seed(self) -> int:
    return self.ticket.seed

  def generator_kwargs(self) -> dict:
    """Arguments of ``slt_tf.generators.build`` for this run (the ticket
    options whole)."""
    kwargs = dict(resolution=self.model.resolution, width=self.model.width,
                  nz=self.model.latent_size, ticket=self.ticket,
                  channels=self.model.channels)
    if self.model.num_classes:
      kwargs["num_classes"] = self.model.num_classes
    return kwargs

  @classmethod
  def make(cls, **values) -> "TrainConfig":
    """A configuration from flat names (the flags' and ``config.json``'s:
    ``learning_rate=``, ``eval_samples=``, ``keep_ratio=``...); a group may
    also be given whole (``ticket=TicketOptions(...)``).

    Raises:
      TypeError: a name that is no field's.
      ValueError: starting with the flat name of the field at fault.
    """
    return cls(**_grouped(values, {}))

  def replace(self, **changes) -> "TrainConfig":
    """A copy with ``changes`` (flat names, or groups whole; see ``make``),
    validated again."""
    return dataclasses.replace(self, **_grouped(changes, self.__dict__))

  def flat(self) -> dict:
    """Flat name -> value (a NESTED group, the ticket, as its dataclass)."""
    return {name: getattr(getattr(self, group) if group else self, f.name)
            for name, group, f in config_fields.json_fields(TrainConfig)}

  def to_json(self) -> str:
    """The flat form (``flat``; the ticket one object), as JSON."""
    values = {name: dataclasses.asdict(v) if dataclasses.is_dataclass(v)
              else v for name, v in self.flat().items()}
    return json.dumps(values, indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "TrainConfig":
    """The inverse of ``to_json`` (e.g. a workdir's ``config.json``)."""
    values = dict(_OLD_DEFAULTS, **json.loads(text))
    if "num_samples" in values:  # The grid's size, renamed.
      values["grid_size"] = values.pop("num_samples")
    values["ticket"] = TicketOptions(**values.get("ticket", {}))
    if values.get("method") is None:  # Written before methods existed.
      values["method"] = methods.default_for_mode(values["ticket"].mode)
    return cls.make(**values)

  def identity(self) -> dict:
    """The fields a resumed run must share with the run that made the workdir."""
    full = json.loads(self.to_json())
    return {name: full[name] for name in IDENTITY_FIELDS}

  def outcome(self) -> dict:
    """Every field that changes what the run computes (all but paths,
    logging and checkpoint cadence), as JSON values. Results rows carry it,
    so that a study resumed in a new checkout (without the old workdirs)
    knows which stored rows are still its own (``outcome_mismatch``)."""
    full = json.loads(self.to_json())
    for name in config_fields.names_with_role(TrainConfig,
                                              config_fields.NEITHER):
      full.pop(name)
    if not methods.get(self.method).trains:
      # Nothing the optimiser holds reaches a network that trains nothing,
      # and it is the same at every step once its batch-norm statistics
      # settle (methods.study_steps): its budget and rates change nothing.
      for name in _UPDATE_FIELDS:
        full.pop(name)
    return full

  def identity_json(self) -> str:
    """``identity`` as canonical JSON: what an export records of its run."""
    return json.dumps(self.identity(), sort_keys=True)


# The optimisation fields that only drive updates (all but the batch, whose
# size the batch-norm statistics see).
_UPDATE_FIELDS = tuple(f.name for f in dataclasses.fields(OptimConfig)
                       if f.name != "batch_size")


# Flat name -> (group field name or None, field name).
_ROUTES = {name: (group, f.name)
           for name, group, f in config_fields.leaves(TrainConfig)}


_GROUPS = tuple(f.name for f in dataclasses.fields(TrainConfig)
                if config_fields.group_class(f) is not None)


def _grouped(values: dict, current: dict) -> dict:
  """``TrainConfig``'s keyword arguments for flat ``values``: each group
  rebuilt from ``current``'s (or its defaults) with its changed fields."""
  routes, top, changed = _ROUTES, {}, {}
  for name, value in values.items():
    # "features" is a group and a flag (--features, the extractor's name).
    if name in _GROUPS and (name not in routes or isinstance(
        value, _group_class(name))):
      top[name] = value
    elif name in routes:
      group, field = routes[name]
      if group is None:
        top[field] = value
      else:
        changed.setdefault(group, {})[field] = value
    else:
      raise TypeError(f"{name!r} is not a configuration field")
  for group, fields in changed.items():
    if group in top:
      raise TypeError(f"{group} is given whole and field by field "
                      f"({', '.join(sorted(fields))})")
    base = current.get(group)
    top[group] = (dataclasses.replace(base, **fields) if base is not None
                  else _group_class(group)(**fields))
  return top


def _group_class(name: str):
  return next(config_fields.group_class(f) for f in dataclasses.fields(
      TrainConfig) if f.name == name)


# Fields that define what a workdir's checkpoints are; a rerun in the same
# workdir must agree on them (the rest, e.g. train_steps, may change).
IDENTITY_FIELDS = config_fields.names_with_role(TrainConfig,
                                                config_fields.IDENTITY)


def _mismatch(stored: dict, current: dict, defaults: dict) -> list:
  """Fields of ``current`` whose value in ``stored`` differs, as
  "name: old -> new"; a group of fields (the ticket's) compares field by
  field as ``group.name``. A field absent from ``stored`` compares as its
  value in ``defaults``; fields only in ``stored`` are ignored."""
  differences = []
  for name, value in current.items():
    if isinstance(value, dict):
      old_group = stored.get(name) or {}
      pairs = [(f"{name}.{key}", old_group.get(key, defaults[name][key]), v)
               for key, v in value.items()]
    else:
      pairs = [(name, stored.get(name, defaults[name]), value)]
    differences += [f"{label}: {old!r} -> {new!r}"
                    for label, old, new in pairs if old != new]
  return differences


def outcome_mismatch(stored: dict, config: TrainConfig) -> list:
  """Fields (``ticket.NAME`` for the ticket's) where ``stored`` (an
  ``outcome()`` written earlier) and ``config`` differ, as "name: old -> new".

  A field absent from ``stored`` compares as its default, so that a field
  added to the configuration since (whose default keeps the old behaviour)
  leaves stored results valid, while a changed default does not (the stored
  value is explicit). Fields no longer in the configuration are ignored.
  """
  return _mismatch(stored, config.outcome(), _DEFAULT_OUTCOME)


def identity_mismatch(stored: dict, config: TrainConfig) -> list:
  """Identity fields (``ticket.NAME`` for the ticket's) where ``stored``, the
  parsed ``config.json`` of an existing workdir, and ``config`` differ, as
  "name: old -> new".

  Fields absent from ``stored`` compare as what a ``config.json`` of before
  the field meant: ``_OLD_DEFAULTS``, else the default.
  """
  stored = dict(_OLD_DEFAULTS, **stored)
  if stored.get("method") is None:  # Written before methods existed.
    stored = dict(stored, method=methods.default_for_mode(
        stored.get("ticket", {}).get("mode", "ticket")))
  return _mismatch(stored, config.identity(),
                   TrainConfig(workdir="-").identity())


# What an outcome compares a field absent from a stored one with.
_DEFAULT_OUTCOME = TrainConfig(workdir="-").outcome()
