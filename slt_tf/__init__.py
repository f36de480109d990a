"""slt_tf: strong lottery tickets in image generators, in TensorFlow/Keras 3.

Yeo et al., "Can We Find Strong Lottery Tickets in Generative Models?", AAAI 2023.
"""

from slt_tf import runtime as _runtime

# Before any submodule imports TensorFlow: oneDNN kernels on every x86 CPU
# (see slt_tf.runtime for why and how to opt out).
_runtime.enable_onednn()

__version__ = "0.1.0"
