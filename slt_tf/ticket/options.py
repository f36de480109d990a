"""How the masked layers of a network are made: ``TicketOptions`` and the
``LayerFactory`` that applies them.

Every conv, transposed conv and dense kernel of a generator is created through
a ``LayerFactory``, which applies the ticket options uniformly and gives layer
``i`` the seed ``seed * 4096 + i``: the whole random network is a function of
``(architecture config, seed)``, which is what makes a ticket storable as seed
+ bitmask (``slt_tf.export.compact``). This seed policy is part of the
ticket's format.
"""

import dataclasses
from typing import Optional

from slt_tf import config_fields
from slt_tf.ticket import initializers
from slt_tf.ticket import layers as masked
from slt_tf.ticket import masking

_MAX_LAYERS = 4096
# ``weight_init`` of a ticketized model whose frozen weights are its own
# (``slt_tf.ticket.ticketize``), not drawn from the seed.
FROM_MODEL = "model"


@dataclasses.dataclass(frozen=True)
class TicketOptions:
  """How the masked layers of a generator are made.

  Attributes:
    keep_ratio: fraction of weights kept, in (0, 1].
    mode: "ticket" (train scores) or "dense" (train weights, the baseline).
    mask_scope: "layer" (per-tensor top-k) or "global" (one threshold).
    weight_init: see ``slt_tf.ticket.initializers.WEIGHT_INITS``; or
      ``FROM_MODEL`` for a ticketized model that keeps its own weights.
    score_init: see ``slt_tf.ticket.initializers.SCORE_INITS``.
    mask_bias: biases get their own scores and mask.
    first_dense: keep the first layer whole (unpruned, never trained); the
      authors' ``First_freeze``.
    last_dense: same for the last (to-RGB) layer; ``Last_freeze``.
    dense_whole_frozen: in dense mode (the weight-training baselines), the
      layers kept whole stay frozen at their random weights too, as a
      ticket's do: the control that gives both methods the same network.
    bn_affine: the generator's batch norms get the authors' affine
      parameters (gamma from N(1, 0.02), beta 0), frozen at that draw in
      ticket mode and trained in dense mode; without it they have none.
    seed: seed of the random weights and the initial scores.
  """
  keep_ratio: float = config_fields.field(
      0.1, "Fraction of weights KEPT, in (0, 1] (the paper's "
      "'0.k').")
  mode: str = config_fields.field(
      "ticket", "The masked layers' mode: ticket (scores) or dense "
      "(weights). A search derives it from its method.", flag=False)
  mask_scope: str = config_fields.field(
      "layer", f"Top-k per layer or one global threshold: "
      f"{masked.MASK_SCOPES}.")
  weight_init: str = config_fields.field(
      "signed_kaiming_constant", f"Random weights: {initializers.WEIGHT_INITS}"
      f", or '{FROM_MODEL}': a --arch=MODULE:FUNCTION model's own (as its "
      "function initialises them; stored whole in a compact ticket).")
  score_init: str = config_fields.field(
      "uniform_0.1", f"Scores: {initializers.SCORE_INITS}.")
  mask_bias: bool = config_fields.field(
      True, "Give biases their own scores and mask.")
  first_dense: bool = config_fields.field(
      False, "Keep the first layer unpruned.")
  last_dense: bool = config_fields.field(
      False, "Keep the last layer unpruned.")
  dense_whole_frozen: bool = config_fields.field(
      False, "Weight-training methods (dense, finetune): keep the layers that "
      "--first_dense / --last_dense keep whole frozen at their random weights, "
      "as a ticket's are (the fair control); default: trained.")
  bn_affine: bool = config_fields.field(
      False, "Give the generator's batch norms the authors' affine parameters "
      "(gamma ~ N(1, 0.02), beta 0): frozen at their draw for a ticket, "
      "trained by the weight-training methods. GFMN and SNGAN (BigGAN's are "
      "conditional). Default: none (gamma 1, beta 0, never trained).")
  seed: int = config_fields.field(
      0, "Seed of the random network and the "
      "run.")

  def __post_init__(self):
    masking.validate_keep_ratio(self.keep_ratio)
    initializers.check_name(self.mode, ("ticket", "dense"), "mode")
    initializers.check_name(self.mask_scope, masked.MASK_SCOPES, "mask_scope")
    initializers.check_name(self.weight_init,
                            initializers.WEIGHT_INITS + (FROM_MODEL,),
                            "weight_init")
    initializers.check_name(self.score_init, initializers.SCORE_INITS,
                            "score_init")
    if not isinstance(self.seed, int) or self.seed < 0:
      raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")


class LayerFactory:
  """Creates the masked layers of one network with consistent options and seeds."""

  def __init__(self, options: TicketOptions, spectral_norm: bool = False):
    self.options = options
    self.spectral_norm = spectral_norm
    self._count = self._norms = 0

  def kwargs(self, name: Optional[str] = None, whole: bool = False,
             **overrides) -> dict:
    """Constructor arguments of the next masked layer (consumes one seed).

    Args:
      name: layer name.
      whole: keep the layer unpruned and untrained in ticket mode.
      **overrides: any other masked-layer argument.
    """
    if self._count >= _MAX_LAYERS:
      raise ValueError(f"a network may hold at most {_MAX_LAYERS} masked layers")
    o = self.options
    mode = o.mode
    if whole and (mode == "ticket" or (mode == "dense"
                                        and o.dense_whole_frozen)):
      mode = "frozen"
    kwargs = dict(
        keep_ratio=o.keep_ratio, mode=mode, mask_scope=o.mask_scope,
        weight_init=o.weight_init, score_init=o.score_init,
        mask_bias=o.mask_bias, seed=o.seed * _MAX_LAYERS + self._count,
        spectral_norm=self.spectral_norm, name=name)
    kwargs.update(overrides)
    self._count += 1
    return kwargs

  def norm_seed(self) -> int:
    """The seed of the next batch norm's affine parameters (``bn_affine``):
    the k-th counts down from the top of the network's seed range, which the
    masked layers fill from the bottom, so that adding them moves no masked
    layer's seed."""
    seed = self.options.seed * _MAX_LAYERS + _MAX_LAYERS - 1 - self._norms
    self._norms += 1
    return seed

  def dense(self, units, name=None, whole=False, **kw):
    return masked.MaskedDense(units, **self.kwargs(name, whole, **kw))

  def conv(self, filters, kernel_size, name=None, whole=False, **kw):
    kw.setdefault("padding", "same")
    return masked.MaskedConv2D(filters, kernel_size,
                               **self.kwargs(name, whole, **kw))

  def conv_transpose(self, filters, kernel_size, name=None, whole=False, **kw):
    return masked.MaskedConv2DTranspose(filters, kernel_size,
                                        **self.kwargs(name, whole, **kw))
