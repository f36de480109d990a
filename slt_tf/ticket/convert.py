"""Strong tickets in a Keras model written without this package.

``ticketize(model)`` returns a copy of a Keras 3 functional or Sequential
model in which every ``Dense``, ``Conv2D`` and ``Conv2DTranspose`` is its
masked counterpart (``slt_tf.ticket.layers``) with the same configuration, as
``tfmot.sparsity.keras.prune_low_magnitude`` wraps a model for pruning; unlike
pruning, a ticket never trains a weight, only the scores that select them::

    generator = keras.Sequential([...])            # plain Keras
    ticket = slt_tf.ticket.ticketize(generator, keep_ratio=0.1,
                                     weight_init="signed_kaiming_constant")
    ticket.trainable_variables                     # the scores only

Normalisation layers keep their statistics; their affine parameters (gamma,
beta) are frozen in ticket mode, as a ticket's weights are, and trained in
dense mode. Layers without weights (activations, reshapes, upsampling, merges)
are copied as they are. Any other layer with trainable weights cannot be
converted: they are listed in one error.
"""

from typing import Callable, Iterable, List, Optional, Tuple, Union

import keras

from slt_tf.ticket import layers as masked
from slt_tf.ticket.options import FROM_MODEL
from slt_tf.ticket.factory import LayerFactory
from slt_tf.ticket.options import TicketOptions

# Keras layer -> (its masked counterpart, the configuration keys carried over).
_COMMON = ("activation", "use_bias", "name", "dtype")
_CONV = ("filters", "kernel_size", "strides", "padding", "data_format",
         "dilation_rate") + _COMMON
_CONVERSIONS = {
    keras.layers.Dense: (masked.MaskedDense, ("units",) + _COMMON),
    keras.layers.Conv2D: (masked.MaskedConv2D, _CONV),
    keras.layers.Conv2DTranspose: (masked.MaskedConv2DTranspose,
                                   _CONV + ("output_padding",)),
}
NORMALIZATIONS = (keras.layers.BatchNormalization,
                  keras.layers.LayerNormalization,
                  keras.layers.GroupNormalization)
CONVERTIBLE = tuple(t.__name__ for t in _CONVERSIONS)


class _FrozenAffine:
  """A normalisation whose affine parameters stay at their values: built
  with them untrainable, so that saving and loading the model keeps them so.
  The layer itself stays trainable: a frozen batch-norm layer would use its
  moving statistics in training calls too."""

  def build(self, input_shape):
    super().build(input_shape)
    for variable in self.trainable_weights:
      variable.trainable = False


@keras.saving.register_keras_serializable(package="slt_tf")
class FrozenAffineBatchNormalization(_FrozenAffine,
                                     keras.layers.BatchNormalization):
  """``BatchNormalization`` with gamma and beta frozen (a ticket's)."""


@keras.saving.register_keras_serializable(package="slt_tf")
class FrozenAffineLayerNormalization(_FrozenAffine,
                                     keras.layers.LayerNormalization):
  """``LayerNormalization`` with gamma and beta frozen (a ticket's)."""


@keras.saving.register_keras_serializable(package="slt_tf")
class FrozenAffineGroupNormalization(_FrozenAffine,
                                     keras.layers.GroupNormalization):
  """``GroupNormalization`` with gamma and beta frozen (a ticket's)."""


_FROZEN_AFFINE = {
    keras.layers.BatchNormalization: FrozenAffineBatchNormalization,
    keras.layers.LayerNormalization: FrozenAffineLayerNormalization,
    keras.layers.GroupNormalization: FrozenAffineGroupNormalization,
}

KeepWhole = Union[Iterable[str], Callable[[keras.layers.Layer], bool], None]


class TicketizeError(ValueError):
  """A model ``ticketize`` cannot convert; the message says what to change."""


def ticketize(model: keras.Model, keep_ratio: Optional[float] = None, *,
              options: Optional[TicketOptions] = None,
              keep_whole: KeepWhole = None, **option_kwargs) -> keras.Model:
  """A copy of ``model`` whose weights are selected, not trained.

  Args:
    model: a Keras 3 functional or Sequential model (nested ones included).
    keep_ratio: fraction of each layer's weights kept, in (0, 1].
    options: how the masked layers are made (``TicketOptions``); or give
      its fields as keywords: ``mode`` ("ticket", or "dense" for the
      weight-training baseline), ``mask_scope``, ``mask_bias``,
      ``score_init``, ``seed``, ``first_dense`` / ``last_dense`` and
      ``weight_init``: "model" (the default here: the frozen weights are
      ``model``'s own, as initialised or as trained) or one of
      ``slt_tf.ticket.names.WEIGHT_INITS``, redrawn from the seed
      (what a compact ticket can rebuild; the paper's is
      "signed_kaiming_constant").
    keep_whole: layers kept unpruned and never trained (as ``first_dense``
      keeps the first): their names, or a predicate on the original layer.
    **option_kwargs: ``TicketOptions`` fields, when ``options`` is None.

  Returns:
    The new model; ``model`` is unchanged. Layer ``i`` converted (in the
    model's topological order) gets the seed ``seed * 4096 + i``.

  Raises:
    TicketizeError: ``model`` is subclassed (it cannot be cloned layer by
      layer: build it from ``slt_tf.ticket.layers`` instead), or it holds
      layers with trainable weights that have no masked counterpart (all
      named in the message).
    ValueError: a bad option, naming it.
  """
  options = _options(keep_ratio, options, option_kwargs)
  _check_clonable(model)
  unsupported = _unsupported(model)
  if unsupported:
    raise TicketizeError(
        "ticketize: cannot convert " + ", ".join(unsupported) +
        f"; a ticket selects the weights of {', '.join(CONVERTIBLE)} layers "
        "and freezes the affine parameters of normalisations, and these "
        "would train their weights instead")
  whole = _whole_predicate(model, keep_whole, options)
  make = LayerFactory(options)
  converted: List[Tuple[keras.layers.Layer, masked.MaskedLayer]] = []
  kept: List[Tuple[keras.layers.Layer, keras.layers.Layer]] = []

  def clone(layer):
    conversion = _conversion(layer)
    if conversion is None:
      cls = type(layer)
      if options.mode != "dense":
        cls = _FROZEN_AFFINE.get(cls, cls)
      new = cls.from_config(layer.get_config())
      kept.append((layer, new))
      return new
    target, keys = conversion
    config = layer.get_config()
    kwargs = {k: config[k] for k in keys if k in config}
    kwargs.update(make.kwargs(layer.name, whole(layer)))
    if options.weight_init == FROM_MODEL:
      # Drawn to build the layer, then overwritten with the model's own.
      kwargs["weight_init"] = TicketOptions().weight_init
    new = target(**kwargs)
    converted.append((layer, new))
    return new

  copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
  if options.weight_init == FROM_MODEL:
    for old, new in converted:
      new.kernel.assign(old.kernel)
      if new.bias is not None:
        new.bias.assign(old.bias)
  for old, new in kept:
    # A clone draws its own: normalisations keep the model's parameters and
    # statistics, any other (untrainable) state its values.
    for from_v, to_v in zip(old.weights, new.weights):
      to_v.assign(from_v)
    if old.weights and hasattr(new, "finalize_state"):
      # What a preprocessing layer derives from them, as on loading.
      new.finalize_state()
  return copy


def _options(keep_ratio, options, option_kwargs) -> TicketOptions:
  if options is not None:
    if option_kwargs or keep_ratio is not None:
      given = sorted(option_kwargs) or ["keep_ratio"]
      raise ValueError(f"{given[0]}: give the ticket options either as "
                       "options= or as keywords, not both")
    return options
  option_kwargs.setdefault("weight_init", FROM_MODEL)
  if keep_ratio is not None:
    option_kwargs["keep_ratio"] = keep_ratio
  unknown = sorted(set(option_kwargs) - set(TicketOptions.__dataclass_fields__))
  if unknown:
    raise ValueError(f"{unknown[0]}: not an option of ticketize (options: "
                     f"{sorted(TicketOptions.__dataclass_fields__)})")
  if option_kwargs.get("bn_affine"):
    raise ValueError("bn_affine: a ticketized model keeps its own "
                     "normalisations (their center/scale), frozen in "
                     "ticket mode")
  return TicketOptions(**option_kwargs)


def _is_clonable(model) -> bool:
  # clone_model accepts exactly these two: Keras 3's Functional is the class
  # of every model built from Inputs.
  return isinstance(model, keras.Sequential) or _is_functional(model)


def _is_functional(model) -> bool:
  try:
    from keras.src.models.functional import Functional  # pylint: disable=g-import-not-at-top
  except ImportError:  # A later Keras: fall back on what clone_model says.
    return True
  return isinstance(model, Functional)


def _check_clonable(model):
  if not isinstance(model, keras.Model):
    raise TicketizeError(f"ticketize: expected a keras.Model, got "
                         f"{type(model).__name__}")
  for layer in _all_layers(model):
    if isinstance(layer, keras.Model) and not _is_clonable(layer):
      what = ("it" if layer is model else
              f"its inner model {layer.name!r}")
      raise TicketizeError(
          f"ticketize: {model.name!r} is not a functional or Sequential "
          f"model ({what} is the subclass {type(layer).__name__}), so it "
          "cannot be copied layer by layer; build it from "
          "slt_tf.ticket.layers (MaskedDense, MaskedConv2D, "
          "MaskedConv2DTranspose) instead")


def _all_layers(model) -> list:
  return model._flatten_layers(include_self=True, recursive=True)  # pylint: disable=protected-access


def _conversion(layer):
  # Exact types: a subclass of Dense may compute something else.
  return _CONVERSIONS.get(type(layer))


def _unsupported(model) -> List[str]:
  """'name (Class[: why])' of every layer that would train weights."""
  found = []
  for layer in _all_layers(model):
    if isinstance(layer, keras.Model) or isinstance(layer, NORMALIZATIONS):
      continue
    why = None
    if _conversion(layer) is not None:
      config = layer.get_config()
      if config.get("groups", 1) != 1:
        why = f"groups={config['groups']}"
      elif config.get("lora_rank"):
        why = "LoRA"
    elif layer.trainable_weights:
      why = "no masked counterpart"
    if why:
      found.append(f"{layer.name} ({type(layer).__name__}: {why})")
  return found


def _whole_predicate(model, keep_whole: KeepWhole, options: TicketOptions):
  """Which original layers are kept whole: ``keep_whole`` plus the first
  and last converted layer when ``first_dense`` / ``last_dense`` ask."""
  convertible = [l for l in _all_layers(model) if _conversion(l) is not None]
  if keep_whole is None:
    chosen = lambda layer: False
  elif callable(keep_whole):
    chosen = keep_whole
  else:
    names = {keep_whole} if isinstance(keep_whole, str) else set(keep_whole)
    missing = sorted(names - {l.name for l in convertible})
    if missing:
      raise ValueError(f"keep_whole: no {', '.join(CONVERTIBLE)} layer is "
                       f"named {missing[0]!r} (they are "
                       f"{[l.name for l in convertible]})")
    chosen = lambda layer: layer.name in names
  ends = set()
  if convertible and options.first_dense:
    ends.add(id(convertible[0]))
  if convertible and options.last_dense:
    ends.add(id(convertible[-1]))
  return lambda layer: id(layer) in ends or bool(chosen(layer))
