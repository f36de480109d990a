"""The generator architectures' names, sizes and channels, importable without
TensorFlow (the configuration validates against them): the table of the
package's own architectures and the name form of a user's
(``MODULE:FUNCTION``, built by ``slt_tf.generators.user``)."""

import dataclasses
import re
from typing import Tuple


@dataclasses.dataclass(frozen=True)
class Architecture:
  """One of the package's generator architectures.

  Attributes:
    module: the module under ``slt_tf.generators`` whose ``build`` makes it.
    width_arg: the builder's name for the base width (GFMN ngf, else ch).
    default_nz: the latent size of its paper.
    resolutions: the sizes it can produce.
    paper_parameters_64: its paper's parameter count at 64x64 (dense), for
      comparison.
  """
  module: str
  width_arg: str
  default_nz: int
  resolutions: Tuple[int, ...]
  paper_parameters_64: float


# Adding an architecture: its module with ``build``, then its row here
# (BUILD.md, "Where a change goes").
ARCHITECTURES = {
    "gfmn": Architecture("gfmn", "ngf", 100, (32, 64), 11.0e6),
    "sngan": Architecture("sngan", "ch", 128, (32, 64), 5.7e6),
    "biggan": Architecture("biggan", "ch", 120, (32, 64), 17.31e6),
}
ARCHS = tuple(ARCHITECTURES)
# The paper's parameter counts at 64x64 (dense generators), for comparison.
PAPER_PARAMETERS_64 = {name: a.paper_parameters_64
                       for name, a in ARCHITECTURES.items()}
# Gray or colour.
CHANNELS = (1, 3)

# A user's architecture: the latent size when --nz is not given (DCGAN's), and
# the smallest image (any size the data can be resized to; its model's shape
# is checked when built).
USER_DEFAULT_NZ = 100
USER_MIN_RESOLUTION = 4
_USER_FORM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
                        r":[A-Za-z_][A-Za-z0-9_]*")


def is_user_arch(arch: str) -> bool:
  """Whether ``arch`` names a user's function (``MODULE:FUNCTION``)."""
  return ":" in str(arch)


def check_user_arch(arch: str) -> str:
  """``arch`` if it has the form ``MODULE:FUNCTION``.

  Raises:
    ValueError: starting with "arch", naming the expected form.
  """
  if not _USER_FORM.fullmatch(arch):
    raise ValueError(f"arch must be MODULE:FUNCTION (a dotted Python module "
                     f"and a function in it, e.g. examples.dcgan:build), got "
                     f"{arch!r}")
  return arch


def check_arch(arch: str) -> str:
  """``arch`` if it names a table's architecture or has the form
  ``MODULE:FUNCTION`` (imported only when built).

  Raises:
    ValueError: starting with "arch", naming the choices.
  """
  if is_user_arch(arch):
    return check_user_arch(arch)
  if arch not in ARCHITECTURES:
    raise ValueError(f"arch must be one of {ARCHS} or MODULE:FUNCTION (your "
                     f"own Keras generator), got {arch!r}")
  return arch


def architecture(arch: str) -> Architecture:
  """The table's row of ``arch``.

  Raises:
    ValueError: naming ``arch`` and the choices.
  """
  return ARCHITECTURES[check_arch(arch)]


def resolutions(arch: str):
  """Resolutions an architecture can produce (a user's: any from
  ``USER_MIN_RESOLUTION``, checked against its model when built)."""
  if is_user_arch(arch):
    return range(USER_MIN_RESOLUTION, 1 << 16)
  return architecture(arch).resolutions


def default_nz(arch: str) -> int:
  """The latent size of ``arch`` when none is given."""
  if is_user_arch(arch):
    return USER_DEFAULT_NZ
  return architecture(arch).default_nz


def check_channels(channels) -> int:
  """``channels`` as an int, if 1 (gray) or 3 (colour).

  Raises:
    ValueError: starting with "channels".
  """
  if channels not in CHANNELS:
    raise ValueError(f"channels must be one of {CHANNELS} (gray or colour), "
                     f"got {channels!r}")
  return int(channels)
