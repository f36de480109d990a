"""The strong-lottery-ticket mechanism, independent of any generator.

* ``masking``: the top-k mask with its straight-through gradient, keep-ratio
  rules and the threshold kernels.
* ``layers``: Keras layers holding a frozen random kernel and trainable scores.
* ``initializers``: the weight and score initialisations (seeded, stateless).
"""
