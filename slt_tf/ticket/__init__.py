"""The strong-lottery-ticket mechanism, independent of any generator.

* ``masking``: the top-k mask with its straight-through gradient, keep-ratio
  rules and the threshold kernels.
* ``layers``: Keras layers holding a frozen random kernel and trainable scores.
* ``initializers``: the weight and score initialisations (seeded, stateless).
* ``options``: ``TicketOptions`` and the ``LayerFactory`` that applies them.
* ``convert``: ``ticketize(model)``, a plain Keras model's copy whose Dense,
  Conv2D and Conv2DTranspose layers are masked.
"""

from slt_tf.ticket.convert import ticketize

__all__ = ["ticketize"]
