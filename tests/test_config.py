"""TrainConfig: methods and modes, older configs, errors that name the flag."""

import dataclasses
import json

import tensorflow as tf

from slt_tf.config import identity_mismatch
from slt_tf.config import outcome_mismatch
from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions
from slt_tf import methods


class ConfigTest(tf.test.TestCase):

  def testMethodSetsTheLayersMode(self):
    for name in methods.METHODS:
      extra = {"init_from": "/x"} if name == "finetune" else {}
      config = TrainConfig.make(workdir="w", method=name, **extra)
      self.assertEqual(config.ticket.mode, methods.get(name).layer_mode, name)

  def testOlderConfigsWithoutMethod_TakeItFromTheMode(self):
    self.assertEqual(TrainConfig.make(workdir="w").method, "ticket")
    dense = TrainConfig.make(workdir="w", method="dense")
    self.assertEqual(dense.ticket.mode, "dense")
    for old in ("", '"method": null,'):
      text = dense.to_json().replace('"method": "dense",', old)
      self.assertNotIn('"method": "dense"', text)
      stored = TrainConfig.from_json(text)
      self.assertEqual((stored.method, stored.ticket.mode),
                       ("dense", "dense"))

  def testOlderConfigsWithNumSamples_KeepTheirGridSize(self):
    text = TrainConfig.make(workdir="w", grid_size=9).to_json().replace(
        '"grid_size"', '"num_samples"')
    self.assertNotIn("grid_size", text)
    self.assertEqual(TrainConfig.from_json(text).runtime.grid_size, 9)

  def testOutcome_IgnoresPathsAndCadenceNotWhatIsComputed(self):
    base = TrainConfig.make(workdir="a")
    same = base.replace(workdir="b", data_dir="/d", cache_dir="/c",
                               log_every=7, checkpoint_every=3, grid_size=4)
    self.assertEqual(base.outcome(), same.outcome())
    self.assertEqual(outcome_mismatch(base.outcome(), same), [])
    self.assertNotIn("workdir", base.outcome())
    changed = {"learning_rate: 5e-05 -> 0.001":
                   base.replace(learning_rate=1e-3),
               "eval_bn_batches: 0 -> 5":
                   base.replace(eval_bn_batches=5),
               "ticket.seed: 0 -> 3": base.replace(ticket=dataclasses.replace(base.ticket, seed=3))}
    for expected, config in changed.items():
      self.assertEqual(outcome_mismatch(base.outcome(), config), [expected])

  def testOutcome_MethodThatTrainsNothing_IgnoresBudgetAndRates(self):
    """A random network is the same whatever the optimiser would have done:
    rows of a longer or differently scheduled run of it stay valid; its
    batch, and every field of a method that trains, still count."""
    for name in methods.METHODS:
      extra = {"init_from": "/x"} if name == "finetune" else {}
      base = TrainConfig.make(workdir="a", method=name, train_steps=6000,
                              learning_rate=2e-4, **extra)
      other = base.replace(train_steps=500, lr_schedule="cosine",
                           learning_rate=1e-3, beta1=0.9,
                           ama_learning_rate=1e-4, ama_init="uniform")
      differences = outcome_mismatch(base.outcome(), other)
      if methods.get(name).trains:
        self.assertLen(differences, 6, name)
      else:
        self.assertEqual(differences, [], name)
        self.assertEqual(
            outcome_mismatch(base.outcome(), other.replace(batch_size=32)),
            ["batch_size: 64 -> 32"], name)

  def testOutcomeMismatch_AbsentFieldsAreDefaultsExplicitOnesCount(self):
    """Rows written before a field existed stay valid; a changed default (the
    stored value is explicit) does not; a removed field is ignored."""
    base = TrainConfig.make(workdir="a", learning_rate=2e-4)
    stored = base.outcome()
    del stored["ama_init"]
    del stored["ticket"]["seed"]
    stored["a_removed_field"] = 1
    self.assertEqual(outcome_mismatch(stored, base), [])
    self.assertEqual(outcome_mismatch(
        stored, base.replace(ama_init="uniform")),
        ["ama_init: 'zeros' -> 'uniform'"])
    stored["beta1"] = 0.9  # As if the default had been 0.9 when stored.
    self.assertEqual(outcome_mismatch(stored, base), ["beta1: 0.9 -> 0.5"])

  def testIdentityMismatch_NamesChangedFieldsAndReadsOldConfigs(self):
    """An older config.json lacks channels (it meant 3), method (the mode's)
    and later ticket fields (their defaults); steps and rates may change."""
    base = TrainConfig.make(workdir="a", method="dense", channels=1)
    stored = json.loads(base.to_json())
    self.assertEqual(identity_mismatch(stored, base.replace(train_steps=9, learning_rate=1e-3)), [])
    self.assertEqual(identity_mismatch(stored, base.replace(width=64, batch_size=8)),
        ["width: None -> 64", "batch_size: 64 -> 8"])
    old = dict(stored, method=None, ticket=dict(stored["ticket"]))
    del old["channels"]
    del old["ticket"]["seed"]
    self.assertEqual(identity_mismatch(old, base), ["channels: 3 -> 1"])
    self.assertEqual(identity_mismatch(old, base.replace(channels=3)), [])
    ticket = TrainConfig.make(workdir="a", channels=3)
    self.assertEqual(identity_mismatch(old, ticket), [
        "method: 'dense' -> 'ticket'", "ticket.mode: 'dense' -> 'ticket'"])

  def testBadCombinations_NameTheFlag(self):
    with self.assertRaisesRegex(ValueError, "^method must be one of"):
      TrainConfig.make(workdir="w", method="lottery")
    with self.assertRaisesRegex(ValueError, "^method 'ticket' needs mode"):
      TrainConfig.make(workdir="w", ticket=TicketOptions(mode="dense"))
    with self.assertRaisesRegex(ValueError, "^init_from is required"):
      TrainConfig.make(workdir="w", method="finetune")
    with self.assertRaisesRegex(ValueError, "^init_from is only used"):
      TrainConfig.make(workdir="w", method="dense", init_from="/x")


if __name__ == "__main__":
  tf.test.main()
