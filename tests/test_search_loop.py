"""The search loop's cadence, its finite-loss guard and its stop handling,
with a stub step: the step here returns a loss from a list instead of running
a network (the real step is tested in test_search_step.py and, through the
loop, in test_train_lib.py)."""

import signal

import numpy as np
import tensorflow as tf

from slt_tf.search import loop
import testutil


class _Stub:
  """A stand-in for the step and the loop's actions: records what ran."""

  def __init__(self, losses=None, stop_at=None, stop_in_action_at=None):
    self.losses = losses or {}
    self.stop = loop.StopRequest()
    self.stop_at, self.stop_in_action_at = stop_at, stop_in_action_at
    self.calls, self.saved, self.logged, self.every5 = [], [], [], []

  def step(self, reached):
    self.calls.append(reached)
    if reached + 1 == self.stop_at:  # A signal during the step.
      self.stop.signal = signal.SIGTERM
    return {"loss": np.float32(self.losses.get(reached + 1, 1.0))}

  def log(self, step, metrics):
    self.logged.append((step, metrics["loss"]))

  def five(self, step, _):
    self.every5.append(step)
    if step == self.stop_in_action_at:  # A signal after the save decision.
      self.stop.signal = signal.SIGINT

  def run(self, config, start=0):
    return loop.run_steps(config, start, self.step,
                          [(config.runtime.log_every, self.log), (5, self.five)],
                          self.stop, self.saved.append, lambda: "ckpt-x")


class LoopTest(tf.test.TestCase):

  def config(self, **overrides):
    values = dict(train_steps=7, log_every=2, checkpoint_every=3)
    values.update(overrides)
    return testutil.tiny_config("/tmp/unused", **values)

  def testItstime_EveryNthStepAndTheLast(self):
    self.assertEqual([s for s in range(1, 11) if loop.itstime(s, 4)], [4, 8])
    self.assertTrue(loop.itstime(3, 4, last=True))
    self.assertFalse(loop.itstime(3, 0))

  def testCadence_LogsSavesAndActsOnTheirStepsAndAtTheEnd(self):
    stub = _Stub()
    step, metrics = stub.run(self.config())
    self.assertEqual((step, metrics), (7, {"loss": 1.0}))
    self.assertEqual(stub.calls, list(range(7)))
    self.assertEqual(stub.saved, [3, 6, 7])
    self.assertEqual([s for s, _ in stub.logged], [2, 4, 6, 7])
    self.assertEqual(stub.every5, [5, 7])

  def testResumed_ContinuesFromItsStepToTheEnd(self):
    stub = _Stub()
    step, _ = stub.run(self.config(), start=4)
    self.assertEqual((step, stub.calls, stub.saved), (7, [4, 5, 6], [6, 7]))
    stub = _Stub()
    self.assertEqual(stub.run(self.config(), start=7), (7, {}))
    self.assertEqual((stub.calls, stub.saved), ([], []))

  def testNonFiniteLoss_StopsBeforeSavingItNamingStepAndCheckpoint(self):
    stub = _Stub(losses={6: float("nan")})
    with self.assertRaisesRegex(FloatingPointError,
                                r"^non-finite loss nan at step 6; .*ckpt-x"):
      stub.run(self.config())
    self.assertEqual(stub.saved, [3])
    self.assertEqual([s for s, _ in stub.logged], [2, 4])

  def testSignalDuringAStep_ThatStepIsTheLastSavedAndActedOn(self):
    stub = _Stub(stop_at=4)
    step, _ = stub.run(self.config())
    self.assertEqual((step, stub.saved), (4, [3, 4]))
    self.assertEqual([s for s, _ in stub.logged], [2, 4])
    self.assertEqual(stub.every5, [4])  # Every action runs at the last step.

  def testSignalAfterTheSaveDecision_TheStepIsSavedAfterTheLoop(self):
    stub = _Stub(stop_in_action_at=5)
    step, _ = stub.run(self.config())
    self.assertEqual((step, stub.saved), (5, [3, 5]))
    stub = _Stub(stop_in_action_at=5, losses={5: float("inf")})
    with self.assertRaisesRegex(FloatingPointError, "at step 5"):
      stub.run(self.config())
    self.assertEqual(stub.saved, [3])


if __name__ == "__main__":
  tf.test.main()
