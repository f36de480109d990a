"""TrainConfig: methods and modes, older configs, errors that name the flag."""

import tensorflow as tf

from slt_tf import methods
from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions


class ConfigTest(tf.test.TestCase):

  def testMethodSetsTheLayersMode(self):
    for name in methods.METHODS:
      extra = {"init_from": "/x"} if name == "finetune" else {}
      config = TrainConfig(workdir="w", method=name, **extra)
      self.assertEqual(config.ticket.mode, methods.get(name).layer_mode, name)

  def testOlderConfigsWithoutMethod_TakeItFromTheMode(self):
    self.assertEqual(TrainConfig(workdir="w").method, "ticket")
    dense = TrainConfig(workdir="w", ticket=TicketOptions(mode="dense"))
    self.assertEqual(dense.method, "dense")
    stored = TrainConfig.from_json(dense.to_json().replace(
        '"method": "dense",', ""))
    self.assertEqual(stored.method, "dense")

  def testBadCombinations_NameTheFlag(self):
    with self.assertRaisesRegex(ValueError, "^method must be one of"):
      TrainConfig(workdir="w", method="lottery")
    with self.assertRaisesRegex(ValueError, "^method 'ticket' needs mode"):
      TrainConfig(workdir="w", method="ticket",
                  ticket=TicketOptions(mode="dense"))
    with self.assertRaisesRegex(ValueError, "^init_from is required"):
      TrainConfig(workdir="w", method="finetune")
    with self.assertRaisesRegex(ValueError, "^init_from is only used"):
      TrainConfig(workdir="w", method="dense", init_from="/x")


if __name__ == "__main__":
  tf.test.main()
