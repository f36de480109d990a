"""Generators built entirely from masked layers, behind one entry point.

  model = slt_tf.generators.build("biggan", resolution=64, keep_ratio=0.1)

Architectures: ``gfmn`` (the paper's main model), ``sngan``, ``biggan``. Each
returns a Keras model mapping z of shape (B, nz) (and, for conditional BigGAN, an
int label of shape (B,)) to images (B, res, res, 3) in [-1, 1]. Defaults
reproduce the paper's models; BUILD.md tabulates their parameter counts.
"""

from typing import Optional

import keras

from slt_tf.generators import biggan
from slt_tf.generators import common
from slt_tf.generators import gfmn
from slt_tf.generators import sngan
from slt_tf.generators.common import prunable_parameter_count
from slt_tf.generators.common import TicketOptions

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


def build(arch: str, resolution: int = 64, keep_ratio: float = 0.1,
          width: Optional[int] = None, nz: Optional[int] = None,
          mode: str = "ticket", seed: int = 0, **options) -> keras.Model:
  """Builds a generator.

  Args:
    arch: "gfmn", "sngan" or "biggan".
    resolution: output size (32 or 64).
    keep_ratio: fraction of weights kept, in (0, 1].
    width: base width (GFMN ngf, SNGAN/BigGAN ch); None for the paper's.
    nz: latent size; None for the architecture's default.
    mode: "ticket" (train scores) or "dense" (train weights).
    seed: seed of the random weights and initial scores.
    **options: other ``TicketOptions`` fields (mask_scope, weight_init,
      score_init, mask_bias, first_dense, last_dense) and architecture
      arguments (BigGAN: num_classes, shared_dim, attention_resolutions).

  Returns:
    The Keras model.

  Raises:
    ValueError: naming the argument, for an unknown arch, a resolution the
      architecture cannot produce, or a bad option.
  """
  _check_arch(arch)
  ticket_fields = set(TicketOptions.__dataclass_fields__) - {
      "keep_ratio", "mode", "seed"}
  ticket_kwargs = {k: options.pop(k) for k in list(options)
                   if k in ticket_fields}
  ticket = TicketOptions(keep_ratio=keep_ratio, mode=mode, seed=seed,
                         **ticket_kwargs)
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


__all__ = ["ARCHS", "PAPER_PARAMETERS_64", "TicketOptions", "build",
           "build_discriminator", "default_nz", "prunable_parameter_count",
           "resolutions"]

build_discriminator = sngan.build_discriminator
