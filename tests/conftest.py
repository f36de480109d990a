"""Test-session setup that must precede TensorFlow's initialisation.

The CPU is split into two logical devices, so that MirroredStrategy tests can
run two replicas on a machine without GPUs (single-device code keeps using
/cpu:0). TensorFlow allows this only before its runtime starts, hence here.
"""

import os
import sys

# The tests import examples/ as a user imports their own module: from the
# repository's root, which xdist's workers do not always have on the path.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
  sys.path.insert(0, _REPO)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# Before TensorFlow: importing slt_tf turns oneDNN on, as for every user.
import slt_tf  # pylint: disable=g-import-not-at-top,unused-import
import tensorflow as tf  # pylint: disable=g-import-not-at-top

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2)
