"""The settings a study runs."""

import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf import methods
from slt_tf.study import plan as plan_lib


class PlanTest(tf.test.TestCase):

  def testSettings_SeedsOutermostAndBaselinesAtTheirKeepRatio(self):
    plan = plan_lib.study_plan([0.1, 0.5], ["dense", "random_mask"], 0.1,
                              [0, 1])
    self.assertEqual([s.name for s in plan[:4]],
                     ["ticket_k0.1_s0", "ticket_k0.5_s0", "dense_k1_s0",
                      "random_mask_k0.1_s0"])
    self.assertLen(plan, 8)
    with self.assertRaisesRegex(ValueError, "^baselines must be"):
      plan_lib.study_plan([0.1], ["finetune"], 0.1, [0])

  def testExtraSeeds_OnlyForTheNamedGroupsAfterTheOthers(self):
    plan = plan_lib.study_plan([0.1, 0.5], ["dense", "random_mask"], 0.1,
                              [0, 1], [3, 4], ["ticket_k0.1", "dense_k1"])
    self.assertLen(plan, 12)
    self.assertEqual([s.name for s in plan[8:]],
                     ["ticket_k0.1_s3", "dense_k1_s3", "ticket_k0.1_s4",
                      "dense_k1_s4"])
    for extra, groups, expected in (
        ([3], ["ticket_k0.3"], "^extra_seed_groups must be among"),
        ([1], ["dense_k1"], "^extra_seeds must not repeat"),
        ([3], [], "^extra_seeds and extra_seed_groups go together"),
        ([], ["dense_k1"], "^extra_seeds and extra_seed_groups go together")):
      with self.assertRaisesRegex(ValueError, expected):
        plan_lib.study_plan([0.1, 0.5], ["dense"], 0.1, [0, 1], extra, groups)

  def testSettingConfig_BaselinesThatTrainNothingStopAtTheirFirstEvaluation(self):
    base = TrainConfig.make(workdir="w", train_steps=6000, eval_every=500)
    steps = {name: plan_lib.setting_config(
        base, plan_lib.Setting(name, 0.1, 0), "runs").optim.train_steps
             for name in ("ticket", "dense", "random_mask", "random_dense")}
    self.assertEqual(steps, {"ticket": 6000, "dense": 6000,
                             "random_mask": 500, "random_dense": 500})
    # Without evaluations, until the batch-norm statistics settle; never
    # beyond the budget.
    for overrides, expected in (({"eval_every": 0}, methods.SETTLE_STEPS),
                                ({"eval_every": 2000}, 2000),
                                ({"train_steps": 30}, 30)):
      config = plan_lib.setting_config(base.replace(**overrides),
                                       plan_lib.Setting("random_mask", 0.1, 0),
                                       "runs")
      self.assertEqual(config.optim.train_steps, expected, overrides)

  def testSettingGroup_IsTheNameWithoutTheSeed(self):
    setting = plan_lib.Setting("ticket", 0.05, 2)
    self.assertEqual(setting.group, "ticket_k0.05")
    self.assertEqual(setting.name, "ticket_k0.05_s2")

  def testSweepPlan_TicketsThenDenseWithOneSeed(self):
    self.assertEqual([s.name for s in plan_lib.sweep_plan([0.1, 0.5], True, 3)],
                     ["ticket_k0.1_s3", "ticket_k0.5_s3", "dense_k1_s3"])
    self.assertEqual([s.name for s in plan_lib.sweep_plan([0.1], False, 0)],
                     ["ticket_k0.1_s0"])

  def testShard_PartitionsThePlanAndParsesIOverN(self):
    plan = list(range(7))
    shards = [plan_lib.shard(plan, i, 3) for i in range(3)]
    self.assertEqual(shards, [[0, 3, 6], [1, 4], [2, 5]])
    self.assertEqual(plan_lib.parse_shard("1/3"), (1, 3))
    for text in ("3/3", "-1/2", "1", "a/b", "0/0"):
      with self.assertRaisesRegex(ValueError, "^shard must be I/N", msg=text):
        plan_lib.parse_shard(text)

  def testKeepRatios_BadValueNamesTheFlag(self):
    self.assertEqual(plan_lib.parse_keep_ratios(["0.1", "1"], "f"), [0.1, 1.0])
    with self.assertRaisesRegex(ValueError, "^keep_ratios"):
      plan_lib.parse_keep_ratios(["abc"], "keep_ratios")


if __name__ == "__main__":
  tf.test.main()
