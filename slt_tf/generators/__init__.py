"""Generators built entirely from masked layers, behind one entry point.

  model = slt_tf.generators.build("biggan", resolution=64, keep_ratio=0.1)

Architectures: ``gfmn`` (the paper's main model), ``sngan``, ``biggan``, or
a user's own Keras generator named ``MODULE:FUNCTION`` (``generators.user``;
ticketized, see ``slt_tf.ticket.ticketize``). Each returns a Keras model
mapping z of shape (B, nz) (and, for conditional BigGAN, an int label of shape
(B,)) to images (B, res, res, channels) in [-1, 1], with 3 channels unless
told (``channels=1`` for gray data). Defaults reproduce the paper's models;
BUILD.md tabulates their parameter counts.
"""

import dataclasses
from typing import Callable, Optional, Tuple

import keras

from slt_tf.generators import biggan
from slt_tf.generators.blocks import CHANNELS
from slt_tf.generators.blocks import check_channels
from slt_tf.generators import gfmn
from slt_tf.generators import sngan
from slt_tf.generators import user
from slt_tf.ticket.layers import prunable_parameter_count
from slt_tf.ticket.options import TicketOptions

@dataclasses.dataclass(frozen=True)
class Architecture:
  """One generator architecture: everything the package knows of it.

  Attributes:
    build: its builder (``resolution``, ``options``, ``nz``, its width
      argument and its own options).
    width_arg: the builder's name for the base width (GFMN ngf, else ch).
    default_nz: the latent size of its paper.
    resolutions: the sizes it can produce.
    paper_parameters_64: its paper's parameter count at 64x64 (dense), for
      comparison.
  """
  build: Callable[..., keras.Model]
  width_arg: str
  default_nz: int
  resolutions: Tuple[int, ...]
  paper_parameters_64: float


# Adding an architecture: its module with ``build`` and ``RESOLUTIONS``, then
# its row here (BUILD.md, "Where a change goes").
ARCHITECTURES = {
    "gfmn": Architecture(gfmn.build, "ngf", 100, gfmn.RESOLUTIONS, 11.0e6),
    "sngan": Architecture(sngan.build, "ch", 128, sngan.RESOLUTIONS, 5.7e6),
    "biggan": Architecture(biggan.build, "ch", 120, biggan.RESOLUTIONS,
                           17.31e6),
}
ARCHS = tuple(ARCHITECTURES)

# The paper's parameter counts at 64x64 (dense generators), for comparison.
PAPER_PARAMETERS_64 = {name: a.paper_parameters_64
                       for name, a in ARCHITECTURES.items()}


is_user_arch = user.is_user_arch


def check_arch(arch: str) -> str:
  """``arch`` if it names a table's architecture or has the form
  ``MODULE:FUNCTION`` (imported only when built).

  Raises:
    ValueError: starting with "arch", naming the choices.
  """
  if is_user_arch(arch):
    return user.check_name(arch)
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
  ``user.MIN_RESOLUTION``, checked against its model when built)."""
  if is_user_arch(arch):
    return range(user.MIN_RESOLUTION, 1 << 16)
  return architecture(arch).resolutions


def default_nz(arch: str) -> int:
  if is_user_arch(arch):
    return user.DEFAULT_NZ
  return architecture(arch).default_nz


def build(arch: str, resolution: int = 64, width: Optional[int] = None,
          nz: Optional[int] = None, ticket: Optional[TicketOptions] = None,
          **options) -> keras.Model:
  """Builds a generator.

  Args:
    arch: "gfmn", "sngan", "biggan" or "MODULE:FUNCTION".
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
  ticket_kwargs = {k: options.pop(k) for k in list(options)
                   if k in TicketOptions.__dataclass_fields__}
  if ticket is None:
    ticket = TicketOptions(**ticket_kwargs)
  elif ticket_kwargs:
    raise ValueError(f"{sorted(ticket_kwargs)[0]}: give the ticket options "
                     "either as ticket= or as keywords, not both")
  if is_user_arch(arch):
    return user.build(arch, resolution=resolution, width=width,
                      nz=user.DEFAULT_NZ if nz is None else nz,
                      ticket=ticket, **options)
  spec = architecture(arch)
  kwargs = dict(resolution=resolution, options=ticket,
                nz=spec.default_nz if nz is None else nz)
  if width is not None:
    kwargs[spec.width_arg] = width
  try:
    return spec.build(**kwargs, **options)
  except TypeError as e:
    if "unexpected keyword" in str(e):
      raise ValueError(f"unknown option for arch {arch!r}: {e}") from None
    raise


__all__ = ["ARCHITECTURES", "ARCHS", "Architecture", "CHANNELS", "PAPER_PARAMETERS_64", "TicketOptions", "build",
           "architecture", "check_arch", "is_user_arch", "build_discriminator", "check_channels", "default_nz",
           "prunable_parameter_count", "resolutions"]

build_discriminator = sngan.build_discriminator
