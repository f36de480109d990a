"""The configuration of a run: one dataclass, built from flags by the entry points.

Every validation error message starts with the name of the offending field,
which is also its flag name, so that entry points can report ``--name ...``.
It validates against name tables only (``generators.catalog``,
``features.names``, ``ticket.names``), so importing it loads no TensorFlow;
what comes from the data (channels, an image folder's classes) is filled in
by ``slt_tf.resolve``, which the entry points and ``train_lib.run`` call.
"""

import dataclasses
import json
import math
from typing import Optional, Tuple

from slt_tf import config_fields
from slt_tf.config_fields import check_name
from slt_tf import eval_settings
from slt_tf.eval_settings import EvalSettings
from slt_tf.features import names as features_lib
from slt_tf.generators import catalog as generators
from slt_tf import methods
from slt_tf import precision as precision_lib
from slt_tf.ticket.options import FROM_MODEL
from slt_tf.ticket.options import TicketOptions

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
LR_SCHEDULES = ("constant", "cosine", "cosine_cycle")
# Where the moment moving averages start (slt_tf.search.losses).
AMA_INITS = ("zeros", "uniform")

# What a config.json written before a field existed meant by its absence.
_OLD_DEFAULTS = {"channels": 3}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything that defines a search run; validated at construction.

  Each field is declared once with its default and its help text
  (``config_fields.field``), which is also its flag's ``--help``
  (``python -m slt_tf.train --helpfull``); the ticket's fields are
  ``TicketOptions``'. ``IDENTITY_FIELDS`` are what a workdir's checkpoints
  are; ``outcome()`` is what a run computes.
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
  arch: str = config_fields.field(
      "gfmn", f"Generator architecture: {generators.ARCHS}, or "
      "MODULE:FUNCTION: your own Keras generator, FUNCTION(nz, channels, "
      "resolution) -> a functional or Sequential model from z to images in "
      "[-1, 1], ticketized (its Dense, Conv2D and Conv2DTranspose layers "
      "masked).", role=config_fields.IDENTITY)
  resolution: int = config_fields.field(
      32, "Image size (32 or 64).", role=config_fields.IDENTITY)
  width: Optional[int] = config_fields.field(
      None, "Base width (GFMN ngf, SNGAN/BigGAN ch; MODULE:FUNCTION gets it "
      "as width=); default: the paper's (the function's own).",
      role=config_fields.IDENTITY)
  nz: Optional[int] = config_fields.field(
      None, "Latent size; default: the "
      "architecture's (100 for MODULE:FUNCTION).", role=config_fields.IDENTITY)
  num_classes: int = config_fields.field(
      0, "BigGAN only: number of classes (0: unconditional).",
      role=config_fields.IDENTITY)
  channels: Optional[int] = config_fields.field(
      None, "Channels the generator draws: 1 (gray) or 3 (colour). Default: "
      "the dataset's (1 for gray data such as mnist_embedded); config.json "
      "records the value used.", role=config_fields.IDENTITY)
  grid_size: int = config_fields.field(
      64, "Images in the sample grid (fixed latents), written every "
      "--sample_every steps.", role=config_fields.NEITHER)
  ticket: TicketOptions = config_fields.field(
      TicketOptions(), "How the masked layers are made; its fields are flags "
      "of their own (--keep_ratio, --seed, ...).",
      flag=False, role=config_fields.IDENTITY)
  dataset: str = config_fields.field(
      "mnist_embedded", "A TFDS name (celeb_a, lsun/bedroom, ...), "
      "folder:PATH, or mnist_embedded (5,000 digits shipped with pip).",
      role=config_fields.IDENTITY)
  data_dir: Optional[str] = config_fields.field(
      None, "TFDS data directory (default: TFDS's).",
      role=config_fields.NEITHER)
  split: str = config_fields.field(
      "train", "Split whose feature statistics are matched.",
      role=config_fields.IDENTITY)
  class_names: Tuple[str, ...] = config_fields.field(
      (), "An image folder's classes (its subfolders, sorted; label i is the "
      "i-th), recorded when the run starts.", flag=False)
  holdout: float = config_fields.field(
      0.2, "Image folders without train/, validation/ and test/ subfolders: "
      "the fraction of files held out by a hash of their path, half for "
      "selecting checkpoints and half for reporting.",
      role=config_fields.IDENTITY)
  download: bool = config_fields.field(
      False, "Let TFDS download a missing dataset.", role=config_fields.NEITHER)
  features: str = config_fields.field(
      "vgg19_bn", f"Feature extractor: {features_lib.EXTRACTORS}.",
      role=config_fields.IDENTITY)
  feature_weights: Optional[str] = config_fields.field(
      None, "Extractor weights: a file (vgg19_bn: .npz from "
      "`python -m slt_tf.features.convert`), 'imagenet' (vgg19), or 'random' "
      "(tests); classifier: none (trained on the dataset and cached).")
  feature_bn: str = config_fields.field(
      "batch", f"VGG19-BN batch norm: {features_lib.BN_MODES}.",
      role=config_fields.IDENTITY)
  feature_layers: Tuple[int, ...] = config_fields.field(
      (), "Match only these feature layers (1-based; VGG19: "
      "its 16 ReLUs in order), e.g. 1,2,3,4,5,6,7,8 when memory is short; "
      "empty: all (the paper's).", role=config_fields.IDENTITY)
  max_real_images: int = config_fields.field(
      0, "Real statistics over the first N images (0: all).",
      role=config_fields.IDENTITY)
  cache_dir: Optional[str] = config_fields.field(
      None, "Cache of real statistics and trained feature nets "
      "(default: $SLT_TF_CACHE or ~/.cache/slt_tf).",
      role=config_fields.NEITHER)
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
  eval_every: int = config_fields.field(
      0, "Steps between evaluations (FID etc.) on the held-out "
      "selection split, keeping the best checkpoint in WORKDIR/best (0: never).")
  eval_samples: int = config_fields.field(
      1000, "N of those evaluations.")
  eval_backbone: str = config_fields.field(
      "auto", "Their backbone: inception, domain, digits, or auto (as "
      "evaluate's --backbone).")
  eval_backbone_weights: Optional[str] = config_fields.field(
      None, "Inception weights for those evaluations.")
  eval_bn_batches: int = config_fields.field(
      0, "Before those evaluations (and the study's), re-estimate the "
      "generator's batch-norm moving statistics on this many batches of fresh "
      "latents, restored afterwards (0: use the search's moving averages).")
  d_width: int = config_fields.field(
      128, "adversarial_ticket: SNGAN discriminator base width.",
      role=config_fields.IDENTITY)
  d_learning_rate: float = config_fields.field(
      2e-4, "adversarial_ticket: discriminator Adam "
      "learning rate.")
  d_beta1: float = config_fields.field(
      0.5, "adversarial_ticket: discriminator Adam beta1.")
  d_beta2: float = config_fields.field(
      0.999, "adversarial_ticket: discriminator Adam beta2.")

  def __post_init__(self):
    if not self.workdir:
      raise ValueError("workdir is required (a directory for checkpoints, "
                       "summaries and samples)")
    self._resolve_method()
    generators.check_arch(self.arch)
    if generators.is_user_arch(self.arch):
      self._check_user_arch()
    elif self.resolution not in generators.resolutions(self.arch):
      raise ValueError(f"resolution must be one of "
                       f"{generators.resolutions(self.arch)} for "
                       f"arch {self.arch!r}, got {self.resolution}")
    elif self.ticket.weight_init == FROM_MODEL:
      raise ValueError(f"weight_init: {FROM_MODEL!r} (a model's own weights) "
                       "needs a user architecture, --arch=MODULE:FUNCTION")
    for name in ("width", "nz"):
      value = getattr(self, name)
      if value is not None and value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    if self.num_classes < 0:
      raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
    if self.num_classes and self.arch != "biggan":
      raise ValueError("num_classes is only supported with arch 'biggan'")
    if self.grid_size < 1:
      raise ValueError(f"grid_size must be >= 1, got {self.grid_size}")
    if not self.dataset:
      raise ValueError("dataset is required (a TFDS name, folder:PATH or "
                       "mnist_embedded)")
    self._check_data()
    check_name(self.features, features_lib.EXTRACTORS, "features")
    check_name(self.feature_bn, features_lib.BN_MODES, "feature_bn")
    check_name(self.ama_init, AMA_INITS, "ama_init")
    object.__setattr__(self, "feature_layers",
                       tuple(int(l) for l in self.feature_layers))
    available = features_lib.num_layers(self.features)
    if any(not 1 <= l <= available for l in self.feature_layers):
      raise ValueError(f"feature_layers must be in 1..{available} for "
                       f"{self.features} (1-based), got "
                       f"{list(self.feature_layers)}")
    if self.batch_size < 2:
      raise ValueError(f"batch_size must be >= 2 (the unbiased variance "
                       f"needs two images), got {self.batch_size}")
    for name in ("train_steps", "checkpoint_every", "keep_checkpoints",
                 "log_every", "sample_every", "cpu_replicas"):
      if getattr(self, name) < 1:
        raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
    if self.collective_timeout_s < 0:
      raise ValueError(f"collective_timeout_s must be >= 0, got "
                       f"{self.collective_timeout_s}")
    if self.eval_every < 0:
      raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
    eval_settings.check(self.eval_samples, self.eval_bn_batches,
                        "eval_samples", "eval_bn_batches")
    if self.max_real_images < 0:
      raise ValueError(f"max_real_images must be >= 0, got "
                       f"{self.max_real_images}")
    if self.d_width < 1:
      raise ValueError(f"d_width must be >= 1, got {self.d_width}")
    for name in ("learning_rate", "ama_learning_rate", "adam_epsilon",
                 "d_learning_rate"):
      value = getattr(self, name)
      if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    for name in ("beta1", "beta2", "d_beta1", "d_beta2"):
      if not 0 <= getattr(self, name) < 1:
        raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
    check_name(self.lr_schedule, LR_SCHEDULES, "lr_schedule")
    check_name(self.strategy, STRATEGIES, "strategy")
    check_name(self.precision, precision_lib.PRECISIONS, "precision")
    if self.cpu_replicas > 1 and self.strategy != "mirrored":
      raise ValueError("cpu_replicas > 1 needs strategy 'mirrored'")
    if self.batch_size % self.cpu_replicas:
      raise ValueError(f"batch_size ({self.batch_size}) must be divisible by "
                       f"the replica count ({self.cpu_replicas})")

  def _check_user_arch(self):
    if self.resolution < generators.USER_MIN_RESOLUTION:
      raise ValueError(f"resolution must be >= "
                       f"{generators.USER_MIN_RESOLUTION}, got "
                       f"{self.resolution}")
    if self.ticket.bn_affine:
      raise ValueError(f"bn_affine: a user architecture ({self.arch}) keeps "
                       "its own batch norms (their center/scale), frozen in "
                       "ticket mode")

  def _check_data(self):
    if not 0 < self.holdout < 1:
      raise ValueError(f"holdout must be in (0, 1), got {self.holdout}")
    # Frozen dataclass: the normalised field is set once, here.
    object.__setattr__(self, "class_names", tuple(self.class_names))
    if self.channels is not None:
      generators.check_channels(self.channels)

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

  @property
  def latent_size(self) -> int:
    return self.nz or generators.default_nz(self.arch)

  def generator_kwargs(self) -> dict:
    """Arguments of ``slt_tf.generators.build`` for this run (the ticket
    options whole)."""
    kwargs = dict(resolution=self.resolution, width=self.width,
                  nz=self.latent_size, ticket=self.ticket,
                  channels=self.channels)
    if self.num_classes:
      kwargs["num_classes"] = self.num_classes
    return kwargs

  def eval_settings(self) -> EvalSettings:
    """The settings of the search's evaluations (``--eval_samples``,
    ``--eval_backbone``, its weights, ``--eval_bn_batches``), with which the
    study and the pilots report too."""
    return EvalSettings(num_samples=self.eval_samples,
                        backbone=self.eval_backbone,
                        backbone_weights=self.eval_backbone_weights,
                        bn_batches=self.eval_bn_batches)

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "TrainConfig":
    """The inverse of ``to_json`` (e.g. a workdir's ``config.json``)."""
    values = dict(_OLD_DEFAULTS, **json.loads(text))
    if "num_samples" in values:  # The grid's size, renamed.
      values["grid_size"] = values.pop("num_samples")
    values["ticket"] = TicketOptions(**values.get("ticket", {}))
    if values.get("method") is None:  # Written before methods existed.
      values["method"] = methods.default_for_mode(values["ticket"].mode)
    return cls(**values)

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
    return full

  def identity_json(self) -> str:
    """``identity`` as canonical JSON: what an export records of its run."""
    return json.dumps(self.identity(), sort_keys=True)


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
