"""The configuration of a run: one dataclass, built from flags by the entry points."""

import dataclasses
import json
from typing import Optional

from slt_tf import generators
from slt_tf import initializers
from slt_tf import layers
from slt_tf import masking


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything that defines a search run.

  Validation happens at construction, with errors that name the flag.
  """
  workdir: str
  arch: str = "gfmn"
  resolution: int = 32
  width: Optional[int] = None
  nz: Optional[int] = None
  keep_ratio: float = 0.1
  mode: str = "ticket"
  mask_scope: str = "layer"
  weight_init: str = "signed_kaiming_constant"
  score_init: str = "uniform_0.1"
  mask_bias: bool = True
  first_dense: bool = False
  last_dense: bool = False
  num_classes: int = 0
  seed: int = 0
  num_samples: int = 64

  def __post_init__(self):
    if not self.workdir:
      raise ValueError("--workdir is required (a directory for checkpoints, "
                       "summaries and samples)")
    if self.arch not in generators.ARCHS:
      raise ValueError(f"--arch must be one of {generators.ARCHS}, got "
                       f"{self.arch!r}")
    supported = generators.resolutions(self.arch)
    if self.resolution not in supported:
      raise ValueError(f"--resolution must be one of {supported} for "
                       f"--arch={self.arch}, got {self.resolution}")
    masking.validate_keep_ratio(self.keep_ratio, "--keep_ratio")
    initializers.check_name(self.mode, ("ticket", "dense"), "--mode")
    initializers.check_name(self.mask_scope, layers.MASK_SCOPES, "--mask_scope")
    initializers.check_name(self.weight_init, initializers.WEIGHT_INITS,
                            "--weight_init")
    initializers.check_name(self.score_init, initializers.SCORE_INITS,
                            "--score_init")
    for name in ("width", "nz"):
      value = getattr(self, name)
      if value is not None and value < 1:
        raise ValueError(f"--{name} must be a positive integer, got {value}")
    if self.num_classes and self.arch != "biggan":
      raise ValueError("--num_classes is only supported with --arch=biggan")
    if self.num_classes < 0:
      raise ValueError(f"--num_classes must be >= 0, got {self.num_classes}")
    if self.seed < 0:
      raise ValueError(f"--seed must be >= 0, got {self.seed}")
    if self.num_samples < 1:
      raise ValueError(f"--num_samples must be >= 1, got {self.num_samples}")

  @property
  def latent_size(self) -> int:
    return self.nz or generators.default_nz(self.arch)

  def generator_kwargs(self) -> dict:
    """Arguments of ``slt_tf.generators.build`` for this run."""
    kwargs = dict(
        resolution=self.resolution, keep_ratio=self.keep_ratio,
        width=self.width, nz=self.latent_size, mode=self.mode, seed=self.seed,
        mask_scope=self.mask_scope, weight_init=self.weight_init,
        score_init=self.score_init, mask_bias=self.mask_bias,
        first_dense=self.first_dense, last_dense=self.last_dense)
    if self.num_classes:
      kwargs["num_classes"] = self.num_classes
    return kwargs

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)
