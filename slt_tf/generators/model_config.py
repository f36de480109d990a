"""The generator a search builds: ``ModelConfig``, the configuration's
``model`` group. Importable without TensorFlow: it validates against
``catalog``'s tables."""

import dataclasses
from typing import Optional

from slt_tf import config_fields
from slt_tf.generators import catalog


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The generator's architecture and sizes; validated at construction."""
  arch: str = config_fields.field(
      "gfmn", f"Generator architecture: {catalog.ARCHS}, or "
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

  def __post_init__(self):
    catalog.check_arch(self.arch)
    if self.is_user:
      if self.resolution < catalog.USER_MIN_RESOLUTION:
        raise ValueError(f"resolution must be >= "
                         f"{catalog.USER_MIN_RESOLUTION}, got "
                         f"{self.resolution}")
    elif self.resolution not in catalog.resolutions(self.arch):
      raise ValueError(f"resolution must be one of "
                       f"{catalog.resolutions(self.arch)} for "
                       f"arch {self.arch!r}, got {self.resolution}")
    for name in ("width", "nz"):
      value = getattr(self, name)
      if value is not None and value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    if self.num_classes < 0:
      raise ValueError(f"num_classes must be >= 0, got {self.num_classes}")
    if self.num_classes and self.arch != "biggan":
      raise ValueError("num_classes is only supported with arch 'biggan'")
    if self.channels is not None:
      catalog.check_channels(self.channels)

  @property
  def is_user(self) -> bool:
    """Whether ``arch`` is a user's own generator (MODULE:FUNCTION)."""
    return catalog.is_user_arch(self.arch)

  @property
  def latent_size(self) -> int:
    return self.nz or catalog.default_nz(self.arch)
