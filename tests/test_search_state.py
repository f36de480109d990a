"""The search state's learning-rate schedules, against closed forms."""

import math

import tensorflow as tf

from slt_tf import config as config_lib
from slt_tf.search import state as state_lib


def closed_form(schedule, peak, steps, t):
  """The rate of update ``t`` (from 0) under each schedule, written out."""
  return {
      "constant": peak,
      "cosine": peak * 0.5 * (1 + math.cos(math.pi * min(t, steps) / steps)),
      # PyTorch's CosineAnnealingLR(T_max=10), eta_min 0, stepped each update.
      "cosine_cycle": peak * 0.5 * (1 + math.cos(math.pi * t / 10)),
  }[schedule]


def rate_at(rate, t):
  return float(rate(t)) if callable(rate) else float(rate)


class LearningRateTest(tf.test.TestCase):

  def testEverySchedule_FollowsItsClosedForm(self):
    # LR_SCHEDULES is derived from the report phrases, so every schedule has
    # one; a schedule added there without a rate in state_lib or a closed
    # form above fails here.
    peak, steps = 2e-4, 40
    for schedule in config_lib.LR_SCHEDULES:
      config = config_lib.TrainConfig.make(
          workdir="w", learning_rate=peak, train_steps=steps,
          lr_schedule=schedule)
      rate = state_lib.learning_rate(config)
      for t in (0, 5, 10, 13, 20, 39):
        with self.subTest(schedule=schedule, t=t):
          self.assertAllClose(rate_at(rate, t),
                              closed_form(schedule, peak, steps, t),
                              rtol=1e-5, atol=1e-12)

  def testMovingAverageRate_CyclesOnlyWithTheAuthorsSchedule(self):
    peak = 1e-5
    for schedule in config_lib.LR_SCHEDULES:
      config = config_lib.TrainConfig.make(
          workdir="w", ama_learning_rate=peak, train_steps=40,
          lr_schedule=schedule)
      rate = state_lib.ama_learning_rate(config)
      want = (closed_form("cosine_cycle", peak, 40, 7)
              if schedule == "cosine_cycle" else peak)
      with self.subTest(schedule=schedule):
        self.assertAllClose(rate_at(rate, 7), want, rtol=1e-5, atol=1e-14)


if __name__ == "__main__":
  tf.test.main()
