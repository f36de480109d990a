"""The configuration of a run: one dataclass, built from flags by the entry points.

Every validation error message starts with the name of the offending field,
which is also its flag name, so that entry points can report ``--name ...``.
"""

import dataclasses
import json
from typing import Optional

from slt_tf import generators
from slt_tf.generators import TicketOptions


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Everything that defines a search run; validated at construction.

  Attributes:
    workdir: directory of checkpoints, summaries, samples and effective flags.
    arch: generator architecture, one of ``generators.ARCHS``.
    resolution: image size.
    width: base width (None: the paper's).
    nz: latent size (None: the architecture's).
    num_classes: BigGAN only; 0 is unconditional.
    num_samples: images in the fixed-z sample grid.
    ticket: how the masked layers are made, including the run's seed.
  """
  workdir: str
  arch: str = "gfmn"
  resolution: int = 32
  width: Optional[int] = None
  nz: Optional[int] = None
  num_classes: int = 0
  num_samples: int = 64
  ticket: TicketOptions = TicketOptions()

  def __post_init__(self):
    if not self.workdir:
      raise ValueError("workdir is required (a directory for checkpoints, "
                       "summaries and samples)")
    if self.arch not in generators.ARCHS:
      raise ValueError(f"arch must be one of {generators.ARCHS}, got "
                       f"{self.arch!r}")
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
