"""The strong-lottery-ticket mechanism, independent of any generator.

* ``masking``: the top-k mask with its straight-through gradient, keep-ratio
  rules and the threshold kernels.
* ``layers``: Keras layers holding a frozen random kernel and trainable scores.
* ``initializers``: the weight and score initialisations (seeded, stateless).
* ``names``: the names and keep-ratio rules the configuration validates
  against (no TensorFlow).
* ``options``: ``TicketOptions`` (no TensorFlow); ``factory``: the
  ``LayerFactory`` that applies them, with the seed policy.
* ``convert``: ``ticketize(model)``, a plain Keras model's copy whose Dense,
  Conv2D and Conv2DTranspose layers are masked.

The package imports nothing heavy by itself, so that the configuration can
use ``names`` and ``options`` without TensorFlow; ``ticketize`` is loaded on
first use.
"""

__all__ = ["ticketize"]


def __getattr__(name):
  if name == "ticketize":
    from slt_tf.ticket.convert import ticketize  # pylint: disable=g-import-not-at-top
    return ticketize
  raise AttributeError(f"module 'slt_tf.ticket' has no attribute {name!r}")
