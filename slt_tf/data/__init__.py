"""Real images and what is computed from them once.

* ``datasets``: TFDS datasets, image folders and the embedded digits, their
  held-out splits (``held_out_splits``) and preprocessing.
* ``embedded_mnist``: the 5,000 digits installed with the package.
* ``images``: the one [-1, 1] <-> uint8 conversion, grids and PNG files.
* ``real_stats``: the real feature moments the search matches, cached.
* ``cache``: the keyed on-disk cache of arrays.
"""
