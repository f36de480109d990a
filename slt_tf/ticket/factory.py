"""The ``LayerFactory``: every masked layer of a network made with the same
``TicketOptions`` and a seed of its own.

Every conv, transposed conv and dense kernel of a generator (and of a
ticketized model) is created through a ``LayerFactory``, which applies the
ticket options uniformly and gives layer ``i`` the seed ``seed * 4096 + i``:
the whole random network is a function of ``(architecture config, seed)``,
which is what makes a ticket storable as seed + bitmask
(``slt_tf.export.compact``). This seed policy is part of the ticket's format.
"""

from typing import Optional

from slt_tf.ticket import layers as masked
from slt_tf.ticket.options import TicketOptions

_MAX_LAYERS = 4096


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
