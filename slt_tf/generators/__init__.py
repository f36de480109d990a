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

import importlib
from typing import Optional

from slt_tf.generators.catalog import Architecture
from slt_tf.generators.catalog import ARCHITECTURES
from slt_tf.generators.catalog import architecture
from slt_tf.generators.catalog import ARCHS
from slt_tf.generators.catalog import CHANNELS
from slt_tf.generators.catalog import check_arch
from slt_tf.generators.catalog import check_channels
from slt_tf.generators.catalog import default_nz
from slt_tf.generators.catalog import is_user_arch
from slt_tf.generators.catalog import PAPER_PARAMETERS_64
from slt_tf.generators.catalog import resolutions
from slt_tf.ticket.options import TicketOptions

# The builders (Keras, TensorFlow) load on first use: importing the package
# for its ``catalog`` stays light.


def build(arch: str, resolution: int = 64, width: Optional[int] = None,
          nz: Optional[int] = None, ticket: Optional[TicketOptions] = None,
          check_range: bool = False, **options):
  """Builds a generator.

  Args:
    arch: "gfmn", "sngan", "biggan" or "MODULE:FUNCTION".
    resolution: output size (32 or 64).
    width: base width (GFMN ngf, SNGAN/BigGAN ch); None for the paper's.
    nz: latent size; None for the architecture's default.
    ticket: how the masked layers are made, whole. Alternatively give its
      fields as keywords (``keep_ratio=0.1, mode="dense", seed=0, ...``).
    check_range: a user architecture (MODULE:FUNCTION) only: draw two
      latents and check that the images lie in [-1, 1] (a search does, once,
      when it starts; a rebuild of a searched generator need not).
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
    from slt_tf.generators import user  # pylint: disable=g-import-not-at-top
    return user.build(arch, resolution=resolution, width=width,
                      nz=default_nz(arch) if nz is None else nz,
                      ticket=ticket, check_range=check_range, **options)
  spec = architecture(arch)
  kwargs = dict(resolution=resolution, options=ticket,
                nz=spec.default_nz if nz is None else nz)
  if width is not None:
    kwargs[spec.width_arg] = width
  builder = importlib.import_module(f"slt_tf.generators.{spec.module}").build
  try:
    return builder(**kwargs, **options)
  except TypeError as e:
    if "unexpected keyword" in str(e):
      raise ValueError(f"unknown option for arch {arch!r}: {e}") from None
    raise


def build_discriminator(*args, **kwargs):
  """SNGAN's discriminator (``slt_tf.generators.sngan.build_discriminator``)."""
  from slt_tf.generators import sngan  # pylint: disable=g-import-not-at-top
  return sngan.build_discriminator(*args, **kwargs)


def prunable_parameter_count(model) -> dict:
  """``slt_tf.ticket.layers.prunable_parameter_count``."""
  from slt_tf.ticket import layers  # pylint: disable=g-import-not-at-top
  return layers.prunable_parameter_count(model)


__all__ = ["ARCHITECTURES", "ARCHS", "Architecture", "CHANNELS",
           "PAPER_PARAMETERS_64", "TicketOptions", "architecture", "build",
           "build_discriminator", "check_arch", "check_channels",
           "default_nz", "is_user_arch", "prunable_parameter_count",
           "resolutions"]
