"""The search's distribution strategies (``slt_tf.search.distribution``): the
strategy each setting gets on this CPU machine, the refusals, who writes the
outputs, and the one line kept of a peer's error. (Several hosts cannot run
here: ``tests/e2e/test_train_cli.py`` runs two workers on localhost.)"""

import os
from unittest import mock

import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.errors import RunError
from slt_tf.search import distribution


def _config(**flat):
  return TrainConfig.make(workdir="/tmp/unused", **flat)


class _Resolver:
  """A cluster resolver's two answers ``is_chief`` reads (a stand-in: no
  cluster runs here)."""

  def __init__(self, cluster, task_type, task_id):
    self._cluster, self.task_type, self.task_id = cluster, task_type, task_id

  def cluster_spec(self):
    return tf.train.ClusterSpec(self._cluster)


class _Strategy:
  def __init__(self, resolver):
    self.cluster_resolver = resolver


class DistributionTest(tf.test.TestCase):

  def testMakeStrategy_AutoOnOneCpu_TheDefaultStrategy(self):
    strategy = distribution.make_strategy(_config(strategy="auto"))
    self.assertIs(strategy, tf.distribute.get_strategy())
    self.assertEqual(strategy.num_replicas_in_sync, 1)

  def testMakeStrategy_MirroredOnce_SharedByLaterRuns(self):
    # The two logical CPUs of conftest, as the mirrored tests of the search use.
    config = _config(strategy="mirrored", cpu_replicas=2)
    first = distribution.make_strategy(config)
    self.assertIsInstance(first, tf.distribute.MirroredStrategy)
    self.assertEqual(first.num_replicas_in_sync, 2)
    self.assertIs(distribution.make_strategy(config), first)

  def testMakeStrategy_MultiWorkerWithoutTfConfig_RefusedNamingIt(self):
    with mock.patch.dict(os.environ):
      os.environ.pop("TF_CONFIG", None)
      with self.assertRaisesRegex(RunError, "^strategy: .*TF_CONFIG"):
        distribution.make_strategy(_config(strategy="multi_worker"))

  def testCheckJitCompile_OneReplicaPasses_MultiWorkerRefused(self):
    one = tf.distribute.get_strategy()
    distribution.check_jit_compile(_config(jit_compile=True), one)
    several = mock.Mock(num_replicas_in_sync=2)
    with self.assertRaisesRegex(RunError, "^jit_compile: .*multi_worker"):
      distribution.check_jit_compile(
          _config(jit_compile=True, strategy="multi_worker"), several)
    several.extended.worker_devices = ("/job:localhost/device:CPU:0",
                                       "/job:localhost/device:CPU:1")
    with self.assertRaisesRegex(RunError, "^jit_compile: .*logical CPU"):
      distribution.check_jit_compile(
          _config(jit_compile=True, strategy="mirrored"), several)
    # Without --jit_compile nothing is checked.
    distribution.check_jit_compile(_config(strategy="mirrored"), several)

  def testIsChief_TheChiefOrElseWorkerZero(self):
    self.assertTrue(distribution.is_chief(tf.distribute.get_strategy()))
    workers = {"worker": ["a:1", "b:2"]}
    self.assertTrue(distribution.is_chief(
        _Strategy(_Resolver(workers, "worker", 0))))
    self.assertFalse(distribution.is_chief(
        _Strategy(_Resolver(workers, "worker", 1))))
    with_chief = {"chief": ["c:0"], "worker": ["a:1"]}
    self.assertTrue(distribution.is_chief(
        _Strategy(_Resolver(with_chief, "chief", 0))))
    self.assertFalse(distribution.is_chief(
        _Strategy(_Resolver(with_chief, "worker", 0))))

  def testFirstCause_TheTellingLineElseTheFirst(self):
    error = tf.errors.UnavailableError(
        None, None, "Collective ops is aborted by: ...\n\n"
        "  [[{{node CollectiveReduceV2}}]]\nTask 1 heartbeat timed out")
    self.assertEqual(distribution.first_cause(error),
                     "Collective ops is aborted by: ...")
    self.assertEqual(distribution.first_cause(ValueError("plain\nmore")),
                     "plain")
    self.assertEqual(distribution.first_cause(ValueError("x" * 500)),
                     "x" * 200)
    self.assertEqual(distribution.first_cause(ValueError("")), "")


if __name__ == "__main__":
  tf.test.main()
