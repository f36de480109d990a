"""Masked Keras 3 layers: a frozen random kernel, trainable scores, a top-k mask.

``MaskedDense``, ``MaskedConv2D`` and ``MaskedConv2DTranspose`` take the arguments
of their Keras counterparts (same kernel layout, same padding semantics) plus the
ticket arguments:

* ``keep_ratio``: fraction of weights KEPT, in (0, 1].
* ``mode``: ``"ticket"`` (frozen kernel, trainable scores, masked), ``"dense"``
  (trainable kernel, no mask: the baseline that trains weights with the same loss)
  or ``"frozen"`` (frozen kernel, no mask: a layer kept whole and never trained,
  the authors' ``First_freeze`` / ``Last_freeze``).
* ``mask_scope``: ``"layer"`` (exact top-k per tensor, the default) or
  ``"global"`` (one threshold shared by all layers of a model, set with
  ``update_global_thresholds``; the authors' ``global_ep``).
* ``weight_init`` / ``score_init``: see ``slt_tf.ticket.initializers``.
* ``mask_bias``: biases get their own scores and mask at the same keep ratio.
* ``seed``: integer; the kernel, bias and score tensors are drawn statelessly from
  ``(seed, stream)``, so the layer's random weights are a function of its config.
* ``selection``: the top-k algorithm, ``slt_tf.ticket.masking.SELECTION_METHODS``
  (``"auto"``: the fastest exact one for the tensor and context).
* ``spectral_norm``: divide the effective kernel ``W * M`` by its largest singular
  value, estimated by power iteration (BigGAN, SNGAN's discriminator). The
  iteration vector is a non-trainable variable updated in training calls.

The forward pass uses ``W * M``; the backward pass is straight-through
(``slt_tf.ticket.masking``), so ``dL/dscores = dL/d(W*M) * W * sign(scores)``.
"""

from typing import List, Optional

import keras
from keras import ops
import tensorflow as tf

from slt_tf.ticket import initializers
from slt_tf.ticket import masking
from slt_tf.ticket.names import MASK_SCOPES
from slt_tf.ticket.names import MODES

# Streams of the stateless draws of one layer; part of the ticket format, never
# renumber.
_KERNEL_STREAM, _SCORES_STREAM, _BIAS_STREAM, _BIAS_SCORES_STREAM = 0, 1, 2, 3


def _tuple(value, n: int, name: str):
  if isinstance(value, int):
    return (value,) * n
  value = tuple(int(v) for v in value)
  if len(value) != n:
    raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
  return value


class MaskedLayer(keras.layers.Layer):
  """Base class: owns the kernel, scores, bias and masks; subclasses apply them.

  Subclasses define ``_kernel_shape(input_shape)``, ``_units`` (the bias size) and
  ``_apply(inputs, kernel)``.
  """

  def __init__(self, *, keep_ratio: float = 0.1, mode: str = "ticket",
               mask_scope: str = "layer",
               weight_init: str = "signed_kaiming_constant",
               score_init: str = "uniform_0.1", use_bias: bool = True,
               mask_bias: bool = True, activation=None,
               seed: Optional[int] = None, spectral_norm: bool = False,
               power_iterations: int = 1, selection: str = "auto",
               **kwargs):
    super().__init__(**kwargs)
    self.keep_ratio = masking.validate_keep_ratio(keep_ratio)
    self.mode = initializers.check_name(mode, MODES, "mode")
    self.mask_scope = initializers.check_name(mask_scope, MASK_SCOPES,
                                              "mask_scope")
    self.weight_init = initializers.check_name(
        weight_init, initializers.WEIGHT_INITS, "weight_init")
    self.score_init = initializers.check_name(
        score_init, initializers.SCORE_INITS, "score_init")
    self.use_bias = bool(use_bias)
    self.mask_bias = bool(mask_bias)
    self.activation = keras.activations.get(activation)
    self.seed = initializers.new_seed() if seed is None else int(seed)
    self.spectral_norm = bool(spectral_norm)
    self.selection = initializers.check_name(
        selection, masking.SELECTION_METHODS, "selection")
    self.power_iterations = int(power_iterations)
    if self.power_iterations < 1:
      raise ValueError(
          f"power_iterations must be >= 1, got {power_iterations}")
    self.sn_u = None
    self.scores = None
    self.bias = None
    self.bias_scores = None
    self.score_threshold = None

  @property
  def is_ticket(self) -> bool:
    return self.mode == "ticket"

  def _init(self, scheme: str, stream: int, fan: int):
    return initializers.Stateless(scheme, self.seed, stream, fan_in=fan,
                                  keep_ratio=self.keep_ratio)

  def build(self, input_shape):
    # No variable is autocast under a mixed-precision policy: scores are ranked
    # and the mask and spectral norm computed in float32 (bfloat16 scores would
    # tie and change the mask); ``call`` casts only the resulting W * M.
    shape = self._kernel_shape(input_shape)
    fan = initializers.fan_in(shape)
    self.kernel = self.add_weight(
        autocast=False, name="kernel", shape=shape, trainable=self.mode == "dense",
        initializer=self._init(self.weight_init, _KERNEL_STREAM, fan))
    if self.spectral_norm:
      self.sn_u = self.add_weight(
          autocast=False, name="sn_u", shape=(1, shape[-1]), trainable=False,
          initializer=keras.initializers.RandomNormal(seed=self.seed),
          aggregation="only_first_replica")
    if self.is_ticket:
      self.scores = self.add_weight(
          autocast=False, name="scores", shape=shape, trainable=True,
          initializer=self._init(self.score_init, _SCORES_STREAM, fan))
    if self.use_bias:
      self.bias = self.add_weight(
          autocast=False, name="bias", shape=(self._units,),
          trainable=self.mode == "dense",
          initializer=self._init(self.weight_init, _BIAS_STREAM, fan))
      if self.is_ticket and self.mask_bias:
        self.bias_scores = self.add_weight(
            autocast=False, name="bias_scores", shape=(self._units,),
            trainable=True,
            initializer=self._init(self.score_init, _BIAS_SCORES_STREAM, fan))
    if self.is_ticket and self.mask_scope == "global":
      # -1 means "never set": the layer falls back to its own top-k rather than
      # silently keeping everything. Replicas compute the same value, so the first
      # replica's assignment is the one kept.
      self.score_threshold = self.add_weight(
          autocast=False, name="score_threshold", shape=(), trainable=False,
          initializer=keras.initializers.Constant(-1.0),
          aggregation="only_first_replica")
    self.built = True

  # -- masks -----------------------------------------------------------------

  def _mask_of(self, scores) -> tf.Tensor:
    if self.mask_scope == "layer":
      return masking.topk_mask(scores, self.keep_ratio, self.selection)
    threshold = tf.convert_to_tensor(self.score_threshold)
    own = lambda: masking.topk_mask(scores, self.keep_ratio, self.selection)
    shared = lambda: masking.threshold_mask(scores, threshold)
    return tf.cond(threshold >= 0.0, shared, own)

  def mask(self) -> tf.Tensor:
    """The current 0/1 mask of the kernel (all ones in dense mode)."""
    if not self.is_ticket:
      return tf.ones_like(tf.convert_to_tensor(self.kernel))
    return self._mask_of(self.scores)

  def bias_mask(self) -> Optional[tf.Tensor]:
    """The current 0/1 mask of the bias; None without bias."""
    if self.bias is None:
      return None
    if self.bias_scores is None:
      return tf.ones_like(tf.convert_to_tensor(self.bias))
    return self._mask_of(self.bias_scores)

  def effective_kernel(self, training: bool = False) -> tf.Tensor:
    """The kernel the layer computes with.

    ``kernel * mask`` in ticket mode, ``kernel`` otherwise; then divided by its
    spectral norm when ``spectral_norm`` is set.

    Args:
      training: advance the power iteration (spectral norm only).
    """
    kernel = tf.convert_to_tensor(self.kernel)
    if self.is_ticket:
      kernel = kernel * self.mask()
    if self.spectral_norm:
      kernel = self._spectral_normalize(kernel, training)
    return kernel

  def _spectral_normalize(self, kernel, training):
    matrix = tf.reshape(kernel, [-1, kernel.shape[-1]])
    u = tf.convert_to_tensor(self.sn_u)
    for _ in range(self.power_iterations):
      v = tf.math.l2_normalize(tf.matmul(u, matrix, transpose_b=True))
      u = tf.math.l2_normalize(tf.matmul(v, matrix))
    u, v = tf.stop_gradient(u), tf.stop_gradient(v)
    sigma = tf.reshape(tf.matmul(tf.matmul(v, matrix), u, transpose_b=True), [])
    if training:
      self.sn_u.assign(u)
    return kernel / sigma

  def effective_bias(self) -> Optional[tf.Tensor]:
    """The bias the layer computes with, or None."""
    if self.bias is None:
      return None
    bias = tf.convert_to_tensor(self.bias)
    if self.bias_scores is None:
      return bias
    return bias * self.bias_mask()

  def score_variables(self) -> List[keras.Variable]:
    """The layer's score variables (empty in dense mode)."""
    return [v for v in (self.scores, self.bias_scores) if v is not None]

  # -- forward ---------------------------------------------------------------

  def call(self, inputs, training=None):
    kernel = ops.cast(self.effective_kernel(bool(training)), self.compute_dtype)
    outputs = self._apply(inputs, kernel)
    bias = self.effective_bias()
    if bias is not None:
      outputs = ops.add(outputs, self._bias_view(ops.cast(bias, outputs.dtype)))
    if self.activation is not None:
      outputs = self.activation(outputs)
    return outputs

  def _bias_view(self, bias):
    return bias

  def get_config(self):
    config = super().get_config()
    config.update({
        "keep_ratio": self.keep_ratio, "mode": self.mode,
        "mask_scope": self.mask_scope, "weight_init": self.weight_init,
        "score_init": self.score_init, "use_bias": self.use_bias,
        "mask_bias": self.mask_bias,
        "activation": keras.activations.serialize(self.activation),
        "seed": self.seed, "spectral_norm": self.spectral_norm,
        "power_iterations": self.power_iterations, "selection": self.selection,
    })
    return config


@keras.saving.register_keras_serializable(package="slt_tf")
class MaskedDense(MaskedLayer):
  """Masked counterpart of ``keras.layers.Dense`` (kernel ``(in, units)``)."""

  def __init__(self, units: int, **kwargs):
    super().__init__(**kwargs)
    self.units = int(units)
    self._units = self.units

  def _kernel_shape(self, input_shape):
    return (int(input_shape[-1]), self.units)

  def _apply(self, inputs, kernel):
    return ops.matmul(inputs, kernel)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (self.units,)

  def get_config(self):
    return {**super().get_config(), "units": self.units}


class _MaskedConvBase(MaskedLayer):
  """Shared argument handling of the 2-D convolutions."""

  def __init__(self, filters: int, kernel_size, strides=(1, 1),
               padding: str = "valid", data_format: Optional[str] = None,
               dilation_rate=(1, 1), **kwargs):
    super().__init__(**kwargs)
    self.filters = int(filters)
    self._units = self.filters
    self.kernel_size = _tuple(kernel_size, 2, "kernel_size")
    self.strides = _tuple(strides, 2, "strides")
    self.dilation_rate = _tuple(dilation_rate, 2, "dilation_rate")
    self.padding = initializers.check_name(str(padding).lower(),
                                           ("valid", "same"), "padding")
    self.data_format = data_format or keras.config.image_data_format()
    initializers.check_name(self.data_format,
                            ("channels_last", "channels_first"), "data_format")

  def _channels(self, input_shape) -> int:
    axis = -1 if self.data_format == "channels_last" else 1
    return int(input_shape[axis])

  def compute_output_shape(self, input_shape):
    # Keras's own symbolic op gives exactly the shape rules of its conv layers.
    kernel = keras.KerasTensor(self._kernel_shape(input_shape))
    return tuple(self._apply(keras.KerasTensor(input_shape), kernel).shape)

  def _bias_view(self, bias):
    if self.data_format == "channels_last":
      return ops.reshape(bias, (1, 1, 1, self.filters))
    return ops.reshape(bias, (1, self.filters, 1, 1))

  def get_config(self):
    return {**super().get_config(), "filters": self.filters,
            "kernel_size": self.kernel_size, "strides": self.strides,
            "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": self.dilation_rate}


@keras.saving.register_keras_serializable(package="slt_tf")
class MaskedConv2D(_MaskedConvBase):
  """Masked counterpart of ``keras.layers.Conv2D`` (kernel ``(kh, kw, in, out)``)."""

  def _kernel_shape(self, input_shape):
    return self.kernel_size + (self._channels(input_shape), self.filters)

  def _apply(self, inputs, kernel):
    return ops.conv(inputs, kernel, strides=list(self.strides),
                    padding=self.padding, dilation_rate=self.dilation_rate,
                    data_format=self.data_format)


@keras.saving.register_keras_serializable(package="slt_tf")
class MaskedConv2DTranspose(_MaskedConvBase):
  """Masked counterpart of ``keras.layers.Conv2DTranspose``.

  The kernel is ``(kh, kw, filters, in)``, as in Keras.
  """

  def __init__(self, filters: int, kernel_size, strides=(1, 1),
               padding: str = "valid", output_padding=None, **kwargs):
    super().__init__(filters, kernel_size, strides=strides, padding=padding,
                     **kwargs)
    self.output_padding = (None if output_padding is None else
                           _tuple(output_padding, 2, "output_padding"))

  def _kernel_shape(self, input_shape):
    return self.kernel_size + (self.filters, self._channels(input_shape))

  def _apply(self, inputs, kernel):
    return ops.conv_transpose(
        inputs, kernel, strides=list(self.strides), padding=self.padding,
        output_padding=self.output_padding, dilation_rate=self.dilation_rate,
        data_format=self.data_format)

  def get_config(self):
    return {**super().get_config(), "output_padding": self.output_padding}


# -- whole-model helpers --------------------------------------------------------


def masked_layers(model_or_layers) -> List[MaskedLayer]:
  """All ``MaskedLayer`` instances in a model, a layer, or a list of them.

  Nested models and layers are searched; each layer appears once, in order.
  """
  roots = (model_or_layers if isinstance(model_or_layers, (list, tuple))
           else [model_or_layers])
  found, seen = [], set()
  for root in roots:
    for layer in root._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
      if isinstance(layer, MaskedLayer) and id(layer) not in seen:
        seen.add(id(layer))
        found.append(layer)
  return found


def update_global_thresholds(model_or_layers, keep_ratio: Optional[float] = None,
                             method: str = "auto") -> tf.Tensor:
  """Sets one |score| threshold over all global-scope ticket layers.

  Call it before each forward pass that should see the current global mask (the
  training loop does, inside its step function). Layers never updated fall back
  to their own per-layer top-k.

  Args:
    model_or_layers: a model, a layer, or a list of them.
    keep_ratio: fraction of all scores kept; defaults to the layers' own
      keep_ratio, which must then agree.
    method: selection algorithm, see ``slt_tf.ticket.masking.SELECTION_METHODS``.

  Returns:
    The threshold (float32 scalar).
  """
  layers = [l for l in masked_layers(model_or_layers)
            if l.is_ticket and l.mask_scope == "global"]
  if not layers:
    raise ValueError("update_global_thresholds found no ticket layer with "
                     "mask_scope='global'")
  if keep_ratio is None:
    ratios = {l.keep_ratio for l in layers}
    if len(ratios) != 1:
      raise ValueError("global-scope layers disagree on keep_ratio "
                       f"({sorted(ratios)}); pass keep_ratio explicitly")
    keep_ratio = ratios.pop()
  scores = [s for l in layers for s in l.score_variables()]
  threshold = masking.global_threshold(scores, keep_ratio, method)
  for layer in layers:
    layer.score_threshold.assign(threshold)
  return threshold


def kept_fractions(model_or_layers) -> dict:
  """Fraction of kernel (and bias) entries currently kept, per layer path."""
  result = {}
  for layer in masked_layers(model_or_layers):
    kept = float(tf.reduce_sum(layer.mask()))
    total = float(tf.size(layer.kernel))
    bias_mask = layer.bias_mask()
    if bias_mask is not None:
      kept += float(tf.reduce_sum(bias_mask))
      total += float(tf.size(bias_mask))
    result[layer.path] = kept / total
  return result


def prunable_parameter_count(model) -> dict:
  """Counts of the kernel and bias entries of a model's masked layers.

  These are the parameters a ticket selects from (the paper's parameter counts);
  batch-norm statistics, score tensors and power-iteration vectors are excluded.
  """
  kernels = biases = 0
  for layer in masked_layers(model):
    kernels += int(layer.kernel.shape.num_elements())
    if layer.bias is not None:
      biases += int(layer.bias.shape.num_elements())
  return {"kernels": kernels, "biases": biases, "total": kernels + biases}
