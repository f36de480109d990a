"""slt_tf: strong lottery tickets in image generators, in TensorFlow/Keras 3.

Yeo et al., "Can We Find Strong Lottery Tickets in Generative Models?", AAAI 2023.
"""

__version__ = "0.1.0"
