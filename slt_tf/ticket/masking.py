"""Top-k mask selection with a straight-through gradient (edge-popup).

The mask of a score tensor ``s`` at keep ratio ``k`` keeps exactly
``n - floor((1 - k) * n)`` entries of largest ``|s|`` (the authors' rule: sort, then
zero the lowest ``floor((1 - k) * n)``). Ties at the threshold are broken by position,
so the count is exact whatever the scores are.

Selection never sorts; every method returns the same exact threshold:

* ``nth_element``: ``NthElement`` (introselect, O(n)).
* ``sampled``: a strided sample brackets the threshold, two O(n) counts check the
  bracket, and ``NthElement`` runs on the few entries inside it; falls back to
  ``nth_element`` when the bracket misses. About 2x faster than ``nth_element`` on
  millions of scores (bench/mask_overhead.py).
* ``bisection``: 31 steps over the float bit patterns, each one O(n) count; the
  only one that compiles under XLA, where ``NthElement`` cannot.
* ``auto`` (default): ``bisection`` under XLA and on accelerators (``NthElement``
  has a CPU kernel only: on a GPU it would copy every score tensor to the host and
  back, every step), else ``sampled`` for large tensors and ``nth_element`` for
  small ones.

Every method returns the same threshold and ``_threshold_mask`` applies one tie
rule, so the mask of given scores is the same bit for bit whichever method,
device or compiler made it.

The backward pass is straight-through: the mask is treated as the identity of
``|s|``, so composed with ``W * mask`` and ``|.|`` autodiff gives
``dL/ds = dL/d(W*M) * W * sign(s)``.
"""

import math
from typing import Sequence

import tensorflow as tf

from slt_tf.ticket.names import kept_count
from slt_tf.ticket.names import validate_keep_ratio

SELECTION_METHODS = ("auto", "nth_element", "sampled", "bisection")

# Below this size the sample bookkeeping costs more than it saves.
_SAMPLED_MIN_SIZE = 65536
_SAMPLE_SIZE = 4096
# Half-width of the bracket, in binomial standard deviations of the sample rank.
_BRACKET_SDS = 5.0


def _in_xla_context() -> bool:
  try:
    from tensorflow.python.ops import control_flow_util  # pylint: disable=g-import-not-at-top
  except ImportError:  # pragma: no cover - private module moved
    return False
  return control_flow_util.GraphOrParentsInXlaContext(
      tf.compat.v1.get_default_graph())


def placement_device_type() -> str:
  """The device type (``"CPU"``, ``"GPU"``, ...) the ops built here will run on.

  The innermost ``tf.device`` scope decides: the graph's (MirroredStrategy
  sets one per replica), else the eager one a function is traced or called
  under. Without either, TensorFlow's placer puts ops on the first GPU when
  there is one, so a visible GPU decides.
  """
  from tensorflow.python.eager import context  # pylint: disable=g-import-not-at-top
  name = ""
  if not tf.executing_eagerly():
    # A throwaway op reads the graph's current device scope; nothing uses
    # it, so the function's pruning drops it.
    name = tf.no_op(name="placement_probe").device
  name = name or context.context().device_name or ""
  kind = tf.DeviceSpec.from_string(name).device_type if name else None
  if kind:
    return kind.upper()
  return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"


def resolve_method(method: str, n: int) -> str:
  """The algorithm ``method`` stands for on ``n`` scores, here and now.

  ``auto`` resolves by context: ``bisection`` under XLA or when the ops are
  placed on an accelerator (the only method whose every op has a GPU kernel),
  else ``sampled`` (``n`` >= 65,536) or ``nth_element``.
  """
  if method not in SELECTION_METHODS:
    raise ValueError(
        f"selection method must be one of {SELECTION_METHODS}, got {method!r}")
  if method == "auto":
    if _in_xla_context() or placement_device_type() != "CPU":
      return "bisection"
    return "sampled" if n >= _SAMPLED_MIN_SIZE else "nth_element"
  return method


def kth_largest(values: tf.Tensor, k: int, method: str = "auto") -> tf.Tensor:
  """The ``k``-th largest entry (1-based) of a flat non-negative float tensor.

  Args:
    values: 1-D float tensor of non-negative values (absolute scores).
    k: rank from the top, 1 <= k <= values.shape[0] (static).
    method: one of ``SELECTION_METHODS``.

  Returns:
    A scalar of the dtype of ``values``.
  """
  n = values.shape[0]
  if not 1 <= k <= n:
    raise ValueError(f"k must be in [1, {n}], got {k}")
  method = resolve_method(method, n)
  if method == "nth_element" or (method == "sampled" and n < 2 * _SAMPLE_SIZE):
    return _kth_largest_nth_element(values, k)
  if method == "sampled":
    return _kth_largest_sampled(values, k)
  return _kth_largest_bisection(values, k)


def _kth_largest_nth_element(values: tf.Tensor, k) -> tf.Tensor:
  # NthElement returns the n-th smallest (0-based): the k-th largest is the
  # (size - k)-th smallest.
  return tf.raw_ops.NthElement(input=values, n=tf.size(values) - k)


def _kth_largest_sampled(values: tf.Tensor, k: int) -> tf.Tensor:
  n = values.shape[0]
  sample = values[::n // _SAMPLE_SIZE]
  m = sample.shape[0]
  # The k-th largest of all sits near rank k*m/n of the sample; bracket it with
  # sample order statistics a few standard deviations either side.
  rank = k * m / n
  sd = math.sqrt(m * (k / n) * (1.0 - k / n))
  rank_hi = max(1, int(rank - _BRACKET_SDS * sd) - 1)
  rank_lo = min(m, int(math.ceil(rank + _BRACKET_SDS * sd)) + 1)
  hi = _kth_largest_nth_element(sample, rank_hi)
  lo = _kth_largest_nth_element(sample, rank_lo)
  n_above = tf.reduce_sum(tf.cast(values > hi, tf.int32))
  window = tf.logical_and(values >= lo, values <= hi)
  n_window = tf.reduce_sum(tf.cast(window, tf.int32))
  bracketed = tf.logical_and(n_above < k, k <= n_above + n_window)

  def inside():
    return _kth_largest_nth_element(tf.boolean_mask(values, window),
                                    k - n_above)

  return tf.cond(bracketed, inside,
                 lambda: _kth_largest_nth_element(values, k))


def _kth_largest_bisection(values: tf.Tensor, k: int) -> tf.Tensor:
  # Non-negative IEEE floats order like their bit patterns read as integers, so an
  # integer bisection over [0, +inf] finds the exact k-th largest value in 31 steps.
  x32 = tf.cast(values, tf.float32)
  bits = tf.bitcast(x32, tf.int32)
  lo = tf.constant(0, tf.int32)  # invariant: count(bits >= lo) >= k
  hi = tf.constant(0x7F800001, tf.int32)  # invariant: count(bits >= hi) < k

  def body(lo, hi):
    mid = lo + tf.bitwise.right_shift(hi - lo, 1)  # hi > lo: a halving.
    enough = tf.reduce_sum(tf.cast(bits >= mid, tf.int32)) >= k
    return tf.where(enough, mid, lo), tf.where(enough, hi, mid)

  for _ in range(31):  # ceil(log2(0x7F800001)) = 31; unrolled so XLA sees it all.
    lo, hi = body(lo, hi)
  return tf.cast(tf.bitcast(lo, tf.float32), values.dtype)


def _threshold_mask(values: tf.Tensor, threshold: tf.Tensor, k: int) -> tf.Tensor:
  """Boolean mask of exactly ``k`` entries: all above threshold, ties by position."""
  xla = _in_xla_context()
  kept = values >= threshold
  n_kept = tf.reduce_sum(tf.cast(kept, tf.int32))

  def break_ties():
    # Keep the first (k - n_above) entries equal to the threshold, in flat order.
    above = values > threshold
    n_above = tf.reduce_sum(tf.cast(above, tf.int32))
    at = tf.equal(values, threshold)
    if xla:  # static shapes only: rank the ties with a cumsum.
      rank = tf.cumsum(tf.cast(at, tf.int32))
      return tf.logical_or(above, tf.logical_and(at, rank <= k - n_above))
    # Several times cheaper than the cumsum: ties are few.
    chosen = tf.where(at)[:k - n_above]
    return tf.tensor_scatter_nd_update(
        above, chosen, tf.ones(tf.shape(chosen)[:1], tf.bool))

  # Continuous scores almost never tie, so the extra passes run only when needed.
  return tf.cond(n_kept == k, lambda: kept, break_ties)


def hard_topk_mask(abs_scores: tf.Tensor, keep_ratio: float,
                   method: str = "auto") -> tf.Tensor:
  """0/1 mask keeping the ``kept_count`` largest entries; no gradient.

  Args:
    abs_scores: non-negative float tensor of any shape.
    keep_ratio: fraction kept, in (0, 1].
    method: selection algorithm, see ``SELECTION_METHODS``.

  Returns:
    A tensor of the shape and dtype of ``abs_scores`` holding 0 and 1.
  """
  abs_scores = tf.convert_to_tensor(abs_scores)
  n = abs_scores.shape.num_elements()
  if n is None:
    raise ValueError("hard_topk_mask needs a fully defined static shape, got "
                     f"{abs_scores.shape}")
  k = kept_count(n, keep_ratio)
  if k == n:
    return tf.ones_like(abs_scores)
  flat = tf.reshape(abs_scores, [-1])
  threshold = kth_largest(flat, k, method)
  mask = _threshold_mask(flat, threshold, k)
  return tf.reshape(tf.cast(mask, abs_scores.dtype), tf.shape(abs_scores))


def _straight_through(forward_fn, abs_scores: tf.Tensor) -> tf.Tensor:

  @tf.custom_gradient
  def ste(x):
    def grad(dy):
      return dy
    return forward_fn(x), grad

  return ste(abs_scores)


def topk_mask(scores, keep_ratio: float, method: str = "auto") -> tf.Tensor:
  """Top-k |scores| mask with a straight-through gradient.

  Args:
    scores: score tensor or variable (converted to a tensor first, which
      ``tf.custom_gradient`` requires).
    keep_ratio: fraction of entries kept, in (0, 1].
    method: selection algorithm, see ``SELECTION_METHODS``.

  Returns:
    The 0/1 mask, shaped like ``scores``. Its gradient with respect to
    ``scores`` is ``upstream * sign(scores)``.
  """
  keep_ratio = validate_keep_ratio(keep_ratio)
  abs_scores = tf.abs(tf.convert_to_tensor(scores))
  return _straight_through(
      lambda x: hard_topk_mask(x, keep_ratio, method), abs_scores)


def threshold_mask(scores, threshold) -> tf.Tensor:
  """``|scores| >= threshold`` as a 0/1 mask with a straight-through gradient.

  Used by the global mode, where one threshold is shared by many tensors.
  """
  abs_scores = tf.abs(tf.convert_to_tensor(scores))
  threshold = tf.cast(tf.stop_gradient(threshold), abs_scores.dtype)
  return _straight_through(
      lambda x: tf.cast(x >= threshold, x.dtype), abs_scores)


def global_threshold(score_tensors: Sequence, keep_ratio: float,
                     method: str = "auto") -> tf.Tensor:
  """One threshold over the |scores| of several tensors (the authors' global_ep).

  Keeping ``|s| >= threshold`` in every tensor keeps ``kept_count(N, keep_ratio)``
  entries in total, N being the total size, unless scores tie at the threshold
  (probability zero for continuous scores).

  Args:
    score_tensors: tensors or variables holding scores.
    keep_ratio: fraction of all entries kept, in (0, 1].
    method: selection algorithm, see ``SELECTION_METHODS``.

  Returns:
    A float32 scalar; 0 when everything is kept.
  """
  keep_ratio = validate_keep_ratio(keep_ratio)
  if not score_tensors:
    raise ValueError("global_threshold needs at least one score tensor")
  flat = tf.concat([
      tf.reshape(tf.abs(tf.cast(tf.convert_to_tensor(s), tf.float32)), [-1])
      for s in score_tensors
  ], axis=0)
  n = flat.shape[0]
  k = kept_count(n, keep_ratio)
  if k == n:
    return tf.constant(0.0, tf.float32)
  return tf.stop_gradient(kth_largest(flat, k, method))
