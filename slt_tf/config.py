"""The configuration of a run: one dataclass, built from flags by the entry points.

Every validation error message starts with the name of the offending field,
which is also its flag name, so that entry points can report ``--name ...``.
"""

import dataclasses
import json
import math
from typing import Optional, Tuple

from slt_tf import features
from slt_tf import generators
from slt_tf import methods
from slt_tf.generators import TicketOptions
from slt_tf.initializers import check_name

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
LR_SCHEDULES = ("constant", "cosine")

# Fields that define what a workdir's checkpoints are; a rerun in the same
# workdir must agree on them (the rest, e.g. train_steps, may change).
IDENTITY_FIELDS = ("method", "arch", "resolution", "width", "nz",
                   "num_classes", "ticket", "dataset", "split", "features",
                   "feature_layers", "feature_bn", "batch_size", "max_real_images", "init_from",
                   "d_width")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything that defines a search run; validated at construction.

  Attributes:
    workdir: directory of checkpoints, summaries, samples and effective flags.
    method: ``slt_tf.methods.METHODS``: the ticket search or a baseline; sets
      ``ticket.mode`` (None: "dense" if ``ticket.mode`` is "dense", else
      "ticket").
    init_from: ``finetune`` only: the workdir of the ticket to fine-tune.
    arch: generator architecture, one of ``generators.ARCHS``.
    resolution: image size.
    width: base width (None: the paper's).
    nz: latent size (None: the architecture's).
    num_classes: BigGAN only; 0 is unconditional.
    num_samples: images in the fixed-z sample grid.
    ticket: how the masked layers are made, including the run's seed.
    dataset: ``slt_tf.data`` source (TFDS name, ``folder:PATH`` or
      ``mnist_embedded``).
    data_dir: TFDS data directory (None: TFDS's default).
    split: split whose statistics are matched.
    download: let TFDS download a missing dataset.
    features: extractor, one of ``slt_tf.features.EXTRACTORS``.
    feature_weights: its weights (see ``slt_tf.features.build``); None for
      ``classifier``, which is trained on the dataset and cached.
    feature_bn: VGG19-BN batch norm, "batch" (the authors') or "inference".
    feature_layers: match the moments of these feature layers only (1-based;
      VGG19: its 16 ReLUs), to save memory; () for all (the paper's).
    max_real_images: real statistics over the first N images (0: all).
    cache_dir: cache of real statistics and trained feature nets (None:
      ``slt_tf.cache.default_dir()``).
    batch_size: global batch of generated images per step.
    train_steps: total steps; a resumed run continues up to it.
    learning_rate: Adam learning rate of the scores (weights in dense mode).
    lr_schedule: "constant" or "cosine" (decay to 0 over train_steps).
    beta1, beta2, adam_epsilon: Adam's other hyper-parameters.
    ama_learning_rate: learning rate of the moment moving averages.
    checkpoint_every: steps between checkpoints.
    keep_checkpoints: checkpoints kept on disk.
    log_every: steps between console lines and scalar summaries.
    sample_every: steps between sample grids, mask statistics and histograms.
    strategy: "auto" (MirroredStrategy on 2+ GPUs, else one device),
      "default", "mirrored" or "multi_worker" (TF_CONFIG).
    cpu_replicas: with "mirrored" and no GPU, split the CPU into this many
      logical devices (for testing multi-replica code on CPU).
    collective_timeout_s: multi_worker only: a collective op waiting longer
      (e.g. for a dead worker) fails the run instead of hanging (0: no limit).
      It must exceed the chief's longest pause (evaluation, sample grids).
    eval_every: steps between evaluations on the held-out selection split,
      which keep the best checkpoint in ``best/`` (0: never).
    eval_samples: N of those evaluations.
    eval_backbone, eval_backbone_weights: their backbone (see
      ``slt_tf.features.backbones``).
    d_width, d_learning_rate, d_beta1, d_beta2: ``adversarial_ticket`` only:
      the SNGAN discriminator's base width and its Adam.
  """
  workdir: str
  method: Optional[str] = None
  init_from: Optional[str] = None
  arch: str = "gfmn"
  resolution: int = 32
  width: Optional[int] = None
  nz: Optional[int] = None
  num_classes: int = 0
  num_samples: int = 64
  ticket: TicketOptions = TicketOptions()
  dataset: str = "mnist_embedded"
  data_dir: Optional[str] = None
  split: str = "train"
  download: bool = False
  features: str = "vgg19_bn"
  feature_weights: Optional[str] = None
  feature_bn: str = "batch"
  feature_layers: Tuple[int, ...] = ()
  max_real_images: int = 0
  cache_dir: Optional[str] = None
  batch_size: int = 64
  train_steps: int = 1000
  learning_rate: float = 5e-5
  lr_schedule: str = "constant"
  beta1: float = 0.5
  beta2: float = 0.999
  adam_epsilon: float = 1e-8
  ama_learning_rate: float = 1e-5
  checkpoint_every: int = 500
  keep_checkpoints: int = 3
  log_every: int = 50
  sample_every: int = 500
  strategy: str = "auto"
  cpu_replicas: int = 1
  collective_timeout_s: int = 1800
  eval_every: int = 0
  eval_samples: int = 1000
  eval_backbone: str = "auto"
  eval_backbone_weights: Optional[str] = None
  d_width: int = 128
  d_learning_rate: float = 2e-4
  d_beta1: float = 0.5
  d_beta2: float = 0.999

  def __post_init__(self):
    if not self.workdir:
      raise ValueError("workdir is required (a directory for checkpoints, "
                       "summaries and samples)")
    self._resolve_method()
    check_name(self.arch, generators.ARCHS, "arch")
    supported = generators.resolutions(self.arch)
    if self.resolution not in supported:
      raise ValueError(f"resolution must be one of {supported} for "
                       f"arch {self.arch!r}, got {self.resolution}")
    for name in ("width", "nz"):
      value = getattr(self, name)
      if value is not None and value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    if self.num_classes < 0:
      raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
    if self.num_classes and self.arch != "biggan":
      raise ValueError("num_classes is only supported with arch 'biggan'")
    if self.num_samples < 1:
      raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
    if not self.dataset:
      raise ValueError("dataset is required (a TFDS name, folder:PATH or "
                       "mnist_embedded)")
    check_name(self.features, features.EXTRACTORS, "features")
    check_name(self.feature_bn, features.BN_MODES, "feature_bn")
    object.__setattr__(self, "feature_layers",
                       tuple(int(l) for l in self.feature_layers))
    available = features.num_layers(self.features)
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
    if self.eval_samples < 2:
      raise ValueError(f"eval_samples must be >= 2, got {self.eval_samples}")
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
    if self.cpu_replicas > 1 and self.strategy != "mirrored":
      raise ValueError("cpu_replicas > 1 needs strategy 'mirrored'")
    if self.batch_size % self.cpu_replicas:
      raise ValueError(f"batch_size ({self.batch_size}) must be divisible by "
                       f"the replica count ({self.cpu_replicas})")

  def _resolve_method(self):
    # Frozen dataclass: the derived fields are set once, here.
    if self.method is None:
      object.__setattr__(self, "method",
                         methods.default_for_mode(self.ticket.mode))
    method = methods.get(self.method)
    if self.ticket.mode != method.layer_mode:
      if self.ticket.mode != "ticket":  # Only the default may be overridden.
        raise ValueError(f"method {self.method!r} needs mode "
                         f"{method.layer_mode!r}, got mode "
                         f"{self.ticket.mode!r}")
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
    """Arguments of ``slt_tf.generators.build`` for this run."""
    kwargs = dict(resolution=self.resolution, width=self.width,
                  nz=self.latent_size, **dataclasses.asdict(self.ticket))
    if self.num_classes:
      kwargs["num_classes"] = self.num_classes
    return kwargs

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

  @classmethod
  def from_json(cls, text: str) -> "TrainConfig":
    """The inverse of ``to_json`` (e.g. a workdir's ``config.json``)."""
    values = json.loads(text)
    values["ticket"] = TicketOptions(**values.get("ticket", {}))
    return cls(**values)

  def identity(self) -> dict:
    """The fields a resumed run must share with the run that made the workdir."""
    full = json.loads(self.to_json())
    return {name: full[name] for name in IDENTITY_FIELDS}


def identity_mismatch(stored: dict, config: TrainConfig) -> list:
  """Names (with stored and new values) of identity fields that differ.

  ``stored`` is the parsed ``config.json`` of an existing workdir. Fields absent
  from it compare as their defaults.
  """
  defaults = json.loads(TrainConfig(workdir="-").to_json())
  if "method" not in stored:  # Written before methods existed.
    stored = dict(stored, method=methods.default_for_mode(
        stored.get("ticket", {}).get("mode", "ticket")))
  current = config.identity()
  differences = []
  for name in IDENTITY_FIELDS:
    old = stored.get(name, defaults[name])
    if old != current[name]:
      differences.append(f"{name}: {old!r} -> {current[name]!r}")
  return differences
