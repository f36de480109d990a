"""Generators built entirely from masked layers, behind one entry point.

  model = slt_tf.generators.build("biggan", resolution=64, keep_ratio=0.1)

Architectures: ``gfmn`` (the paper's main model), ``sngan``, ``biggan``. Each
returns a Keras model mapping z of shape (B, nz) (and, for conditional BigGAN, an
int label of shape (B,)) to images (B, res, res, channels) in [-1, 1], with
3 channels unless told (``channels=1`` for gray data). Defaults
reproduce the paper's models; BUILD.md tabulates their parameter counts.
"""

from typing import Optional

import keras

from slt_tf.generators import biggan
from slt_tf.generators import common
from slt_tf.generators.common import CHANNELS
from slt_tf.generators.common import check_channels
from slt_tf.generators.common import prunable_parameter_count
from slt_tf.generators.common import TicketOptions
from slt_tf.generators import gfmn
from slt_tf.generators import sngan

ARCHS = ("gfmn", "sngan", "biggan")

# The paper's parameter counts at 64x64 (dense generators), for comparison.
PAPER_PARAMETERS_64 = {"gfmn": 11.0e6, "sngan": 5.7e6, "biggan": 17.31e6}

_BUILDERS = {"gfmn": gfmn.build, "sngan": sngan.build, "biggan": biggan.build}
_WIDTH_ARG = {"gfmn": "ngf", "sngan": "ch", "biggan": "ch"}
_DEFAULT_NZ = {"gfmn": 100, "sngan": 128, "biggan": 120}


def resolutions(arch: str):
  """Resolutions an architecture can produce."""
  _check_arch(arch)
  return {"gfmn": gfmn.RESOLUTIONS, "sngan": sngan.RESOLUTIONS,
          "biggan": biggan.RESOLUTIONS}[arch]


def default_nz(arch: str) -> int:
  _check_arch(arch)
  return _DEFAULT_NZ[arch]


def _check_arch(arch):
  if arch not in ARCHS:
    raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")


def build(arch: str, resolution: int = 64, width: Optional[int] = None,
          nz: Optional[int] = None, ticket: Optional[TicketOptions] = None,
          **options) -> keras.Model:
  """Builds a generator.

  Args:
    arch: "gfmn", "sngan" or "biggan".
    resolution: output size (32 or 64).
    width: base width (GFMN ngf, SNGAN/BigGAN ch); None for the paper's.
    nz: latent size; None for the architecture's default.
    ticket: how the masked layers are made, whole. Alternatively give its
      fields as keywords (``keep_ratio=0.1, mode="dense", seed=0, ...``).
    **options: ``TicketOptions`` fields (when ``ticket`` is None) and
      architecture arguments (every architecture: channels, 1 or 3; BigGAN:
      num_classes, shared_dim, attention_resolutions).

  Returns:
    The Keras model.

  Raises:
    ValueError: naming the argument, for an unknown arch, a resolution the
      architecture cannot produce, or a bad option.
  """
  _check_arch(arch)
  ticket_kwargs = {k: options.pop(k) for k in list(options)
                   if k in TicketOptions.__dataclass_fields__}
  if ticket is None:
    ticket = TicketOptions(**ticket_kwargs)
  elif ticket_kwargs:
    raise ValueError(f"{sorted(ticket_kwargs)[0]}: give the ticket options "
                     "either as ticket= or as keywords, not both")
  kwargs = dict(resolution=resolution, options=ticket,
                nz=default_nz(arch) if nz is None else nz)
  if width is not None:
    kwargs[_WIDTH_ARG[arch]] = width
  try:
    return _BUILDERS[arch](**kwargs, **options)
  except TypeError as e:
    if "unexpected keyword" in str(e):
      raise ValueError(f"unknown option for arch {arch!r}: {e}") from None
    raise


__all__ = ["ARCHS", "CHANNELS", "PAPER_PARAMETERS_64", "TicketOptions", "build",
           "build_discriminator", "check_channels", "default_nz",
           "prunable_parameter_count", "resolutions"]

build_discriminator = sngan.build_discriminator
