"""The search step's pieces that can be checked alone (the whole step runs in
tests/test_train_lib.py and tests/test_methods.py)."""

from absl.testing import parameterized
import keras
import numpy as np
import tensorflow as tf

from slt_tf import devices
from slt_tf import features
from slt_tf.generators import TicketOptions
from slt_tf.search import latents
from slt_tf.search import state as state_lib
from slt_tf.search import step as step_lib
import testutil


def traced_step(workdir, device, **overrides):
  """The real search step of a small generator, traced under ``device``
  (tracing needs no such device: the scope is recorded in the graph, as
  MirroredStrategy records each replica's), with random feature weights and
  statistics. Returns (graph, state)."""
  values = dict(width=4, feature_weights="random",
                ticket=TicketOptions(keep_ratio=0.1, seed=1))
  values.update(overrides)
  config = testutil.tiny_config(workdir, **values)
  dim = features.build(config.features.extractor, config.model.resolution,
                       features.RANDOM).feature_dim
  moments = (np.zeros(dim, np.float32), np.ones(dim, np.float32))
  strategy = tf.distribute.get_strategy()
  state = state_lib.build_state(config, strategy, config.data.cache_dir,
                                features.RANDOM, moments)
  step = step_lib.train_step_fn(config, strategy, state)
  with tf.device(device):
    graph = step.get_concrete_function(
        latents.step_batch(config, state.step, None)).graph
  return graph, state


class StepPlacementTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(("gfmn", "layer"), ("sngan", "layer"),
                            ("biggan", "layer"), ("biggan", "global"))
  def testTracedStepOnAGpu_EveryOpHasAGpuKernel(self, arch, mask_scope):
    ticket = TicketOptions(keep_ratio=0.1, seed=1, mask_scope=mask_scope)
    graph, _ = traced_step(self.get_temp_dir() + "/gpu", "/device:GPU:0",
                           arch=arch, ticket=ticket)
    self.assertEqual(devices.ops_without_kernel(graph, "GPU"), {})

  def testTracedStepOnTheCpu_KeepsTheCpuSelection(self):
    """The check above can fail: the CPU's faster selection is CPU-only."""
    graph, _ = traced_step(self.get_temp_dir() + "/cpu", "/device:CPU:0",
                           arch="sngan")
    self.assertIn("NthElement", devices.ops_without_kernel(graph, "GPU"))

  @parameterized.parameters("bfloat16", "float16")
  def testLowPrecisionStep_ConvolutionsInItLossAndMomentsInFloat32(
      self, precision):
    graph, state = traced_step(self.get_temp_dir() + "/p", "/device:CPU:0",
                               precision=precision)
    dtypes = {}
    for function in [graph] + [f.graph for f in graph._functions.values()  # pylint: disable=protected-access
                               if hasattr(f, "graph")]:
      for op in function.get_operations():
        if op.type in ("Conv2D", "Conv2DBackpropInput", "MatMul"):
          dtypes.setdefault(op.type, set()).add(op.get_attr("T"))
    low = tf.as_dtype(precision)
    self.assertIn(low, dtypes["Conv2D"])
    self.assertIn(low, dtypes["Conv2DBackpropInput"])
    outputs = graph.structured_outputs
    for name in ("loss", "loss_mean", "loss_var"):
      self.assertEqual(outputs[name].dtype, tf.float32, msg=name)
    for variable in state.generator.weights:
      self.assertEqual(variable.dtype, "float32", msg=variable.path)


class HingeLossTest(tf.test.TestCase):

  def testHingeLosses_MatchNumPy(self):
    """A linear stand-in discriminator makes the hinge terms computable."""
    inputs = keras.Input((2, 2, 1))
    logits = keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(
        inputs))
    discriminator = keras.Model(inputs, logits)
    weights = np.array([[0.5], [-1.0], [2.0], [0.25]], np.float32)
    discriminator.set_weights([weights])
    optimizer = keras.optimizers.SGD(0.0)  # Keep D fixed for the g_loss.
    real = np.random.RandomState(0).randn(6, 2, 2, 1).astype(np.float32)
    fake = np.random.RandomState(1).randn(6, 2, 2, 1).astype(np.float32)
    with tf.GradientTape() as tape:
      fake_t = tf.identity(tf.constant(fake))
    g_loss, values = step_lib.adversarial_losses(
        tape, fake_t, tf.constant(real), discriminator, optimizer, 1)
    d = lambda x: x.reshape(len(x), -1) @ weights
    expected_d = (np.mean(np.maximum(0, 1 - d(real)))
                  + np.mean(np.maximum(0, 1 + d(fake))))
    self.assertAllClose(values["d_loss"], expected_d, rtol=1e-5)
    self.assertAllClose(g_loss, -np.mean(d(fake)), rtol=1e-5)


if __name__ == "__main__":
  tf.test.main()
