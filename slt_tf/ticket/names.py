"""The ticket's names and keep-ratio rules, importable without TensorFlow
(the configuration validates against them): the weight and score
initialisations, the layers' modes and mask scopes, and how many entries a
keep ratio keeps.
"""

import math

# slt_tf.ticket.initializers draws these.
WEIGHT_INITS = ("signed_kaiming_constant", "kaiming_normal",
                "scaled_kaiming_normal", "normal_0.02",
                "scaled_signed_kaiming_constant")
SCORE_INITS = ("uniform_0.1", "kaiming_uniform")
# slt_tf.ticket.layers: what a masked layer holds, and where its top-k runs.
MODES = ("ticket", "dense", "frozen")
MASK_SCOPES = ("layer", "global")


def validate_keep_ratio(keep_ratio, name: str = "keep_ratio") -> float:
  """Returns ``keep_ratio`` as a float, or raises if it is not in (0, 1].

  Args:
    keep_ratio: fraction of weights KEPT (the paper's "0.k" sparsity).
    name: the argument or flag name used in the error message.

  Raises:
    ValueError: naming ``name`` when the value is not a real number in (0, 1].
  """
  if isinstance(keep_ratio, bool) or not isinstance(keep_ratio, (int, float)):
    raise ValueError(
        f"{name} must be a number in (0, 1] (the fraction of weights kept), "
        f"got {keep_ratio!r}")
  value = float(keep_ratio)
  if not (0.0 < value <= 1.0):  # also rejects NaN
    raise ValueError(
        f"{name} must be in (0, 1] (the fraction of weights kept), got {value}")
  return value


def kept_count(n: int, keep_ratio: float) -> int:
  """Number of entries a tensor of ``n`` elements keeps: ``n - floor((1-k) n)``."""
  keep_ratio = validate_keep_ratio(keep_ratio)
  # The product is rounded to 9 decimals first, so that the count is the exact
  # decimal one: (1 - 0.3) * 90 is 62.99999999999999 in binary floating point,
  # and pruning its floor (62) would keep 28 of 90 where "keep 0.3 of 90"
  # means 27. (The authors' int((1 - k) * n) keeps 28 there; the rules differ
  # by one entry exactly where the decimal product is an integer.)
  return n - int(math.floor(round((1.0 - keep_ratio) * n, 9)))
