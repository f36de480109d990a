"""Tests for slt_tf.devices: ops of a traced graph without a GPU kernel."""

import tensorflow as tf

from slt_tf import devices
from slt_tf.ticket import masking


def _mask_graph(method):
  fn = tf.function(lambda s: masking.topk_mask(s, 0.1, method))
  return fn.get_concrete_function(tf.TensorSpec([100_000], tf.float32)).graph


class OpsWithoutKernelTest(tf.test.TestCase):

  def testNthElementSelection_FoundWithItsCount(self):
    missing = devices.ops_without_kernel(_mask_graph("nth_element"), "GPU")
    self.assertEqual(set(missing), {"NthElement"})
    # Its count includes the nested function of the tie-breaking cond.
    self.assertGreaterEqual(missing["NthElement"], 1)

  def testSampledSelection_NthElementInsideTheCondsFunctionsFound(self):
    missing = devices.ops_without_kernel(_mask_graph("sampled"), "GPU")
    self.assertEqual(set(missing), {"NthElement"})
    self.assertGreaterEqual(missing["NthElement"], 3)

  def testBisection_EveryOpHasAGpuKernel(self):
    self.assertEqual(devices.ops_without_kernel(_mask_graph("bisection"),
                                                "GPU"), {})

  def testKernelDevices_ReadsTheRegistry(self):
    self.assertEqual(devices.kernel_devices("NthElement"), {"CPU"})
    self.assertIn("GPU", devices.kernel_devices("Conv2D"))
    self.assertIn("DEFAULT", devices.kernel_devices("Placeholder"))


if __name__ == "__main__":
  tf.test.main()
