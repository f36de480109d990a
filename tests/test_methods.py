"""The baselines as methods of the search: what each updates and what it keeps."""

import dataclasses

import numpy as np
import tensorflow as tf

from slt_tf import errors
from slt_tf import generators
from slt_tf.search import state as state_lib
from slt_tf.ticket import layers
from slt_tf import train_lib
from slt_tf import workdir as workdir_lib
import testutil


def bn_statistics(generator):
  return {v.path: v.numpy() for v in generator.non_trainable_variables
          if "moving_" in v.path}


class MethodRunTest(tf.test.TestCase):

  def run_method(self, method, steps=3, **overrides):
    config = testutil.tiny_config(f"{self.get_temp_dir()}/{method}",
                                  method=method, train_steps=steps,
                                  **overrides)
    result = train_lib.run(config)
    fresh = generators.build(config.model.arch, **config.generator_kwargs())
    return config, result, fresh, workdir_lib.restore_generator(config)

  def testRandomMask_ScoresNeverMoveButBatchNormLearnsItsStatistics(self):
    _, result, fresh, after = self.run_method("random_mask")
    self.assertEqual(result["step"], 3)
    for attribute in ("scores", "kernel", "bias_scores"):
      before, now = (testutil.masked_arrays(fresh, attribute),
                     testutil.masked_arrays(after, attribute))
      self.assertNotEmpty(now)
      for path in now:
        self.assertAllEqual(now[path], before[path], msg=path)
    self.assert_bn_moved(fresh, after)
    kept = layers.kept_fractions(after)
    self.assertAllClose(np.mean(list(kept.values())), 0.1, atol=0.02)

  def testRandomDense_NothingTrainsButBatchNorm(self):
    _, _, fresh, after = self.run_method("random_dense")
    self.assertEmpty(testutil.masked_arrays(after, "scores"))
    before, now = (testutil.masked_arrays(fresh, "kernel"),
                   testutil.masked_arrays(after, "kernel"))
    for path in now:
      self.assertAllEqual(now[path], before[path], msg=path)
    self.assert_bn_moved(fresh, after)

  def assert_bn_moved(self, fresh, after):
    before, now = bn_statistics(fresh), bn_statistics(after)
    self.assertNotEmpty(now)
    for path in now:
      self.assertNotAllClose(now[path], before[path], msg=path)

  def testAdversarialTicket_TrainsScoresAndTheDiscriminatorOnly(self):
    config, result, fresh, after = self.run_method(
        "adversarial_ticket", d_width=8)
    for key in ("g_loss", "d_loss", "mean_mse", "var_mse"):
      self.assertTrue(np.isfinite(result["metrics"][key]), key)
    self.assertEqual(result["metrics"]["loss"], result["metrics"]["g_loss"])
    scores_before = testutil.masked_arrays(fresh, "scores")
    scores_now = testutil.masked_arrays(after, "scores")
    self.assertTrue(any(not np.array_equal(scores_now[p], scores_before[p])
                        for p in scores_now))
    kernels_before = testutil.masked_arrays(fresh, "kernel")
    for path, kernel in testutil.masked_arrays(after, "kernel").items():
      self.assertAllEqual(kernel, kernels_before[path], msg=path)
    fresh_d = generators.build_discriminator(32, ch=8, seed=config.seed,
                                             channels=config.model.channels)
    before = [v.numpy() for v in fresh_d.trainable_variables]
    tf.train.Checkpoint(discriminator=fresh_d).restore(
        tf.train.latest_checkpoint(workdir_lib.checkpoint_dir(
            config.workdir))).expect_partial()
    for old, new in zip(before, fresh_d.trainable_variables):
      self.assertNotAllClose(old, new.numpy(), msg=new.path)

  def testAdversarialTicket_ResumedRunEqualsAnUninterruptedOne(self):
    base = self.get_temp_dir()
    straight = testutil.tiny_config(base + "/straight", train_steps=4,
                                    checkpoint_every=2,
                                    method="adversarial_ticket", d_width=8)
    train_lib.run(straight)
    split = straight.replace(workdir=base + "/split",
                                train_steps=2)
    train_lib.run(split)
    train_lib.run(split.replace(train_steps=4))
    a = testutil.checkpoint_tensors(straight.workdir)
    b = testutil.checkpoint_tensors(split.workdir)
    self.assertCountEqual(a, b)
    self.assertTrue(any(k.startswith("discriminator/") for k in a))
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)

  def testFinetune_StartsFromTheTicketAndKeepsPrunedWeightsAtZero(self):
    ticket_config, _, _, ticket = self.run_method("ticket", steps=2)
    z = tf.random.stateless_normal([4, ticket_config.model.latent_size], [1, 2])
    config = testutil.tiny_config(
        self.get_temp_dir() + "/finetune", method="finetune", train_steps=3,
        init_from=ticket_config.workdir, learning_rate=1e-2)
    # Step 0 (before any update): the fine-tuned network is the ticket.
    state = state_lib.build_state(
        config, tf.distribute.get_strategy(), config.data.cache_dir,
        state_lib.extractor_weights(config, config.data.cache_dir))
    self.assertAllClose(state.generator(z, training=False),
                        ticket(z, training=False), atol=1e-5)
    train_lib.run(config)
    tuned = workdir_lib.restore_generator(config)
    ticket_layers = {l.path: l for l in layers.masked_layers(ticket)}
    changed = 0
    for layer in layers.masked_layers(tuned):
      source = ticket_layers[layer.path]
      mask = source.mask().numpy() > 0
      kernel = layer.kernel.numpy()
      self.assertAllEqual(kernel[~mask], np.zeros_like(kernel[~mask]),
                          msg=layer.path)
      start = (source.kernel.numpy() * mask)[mask]
      changed += int(np.sum(kernel[mask] != start))
    self.assertGreater(changed, 0)

  def testFinetune_FromAnotherGenerator_OneLineError(self):
    ticket_config, _, _, _ = self.run_method("ticket", steps=1)
    config = testutil.tiny_config(
        self.get_temp_dir() + "/ft", method="finetune", width=8,
        init_from=ticket_config.workdir)
    with self.assertRaisesRegex(errors.RunError,
                                "^init_from: .* different generator"):
      train_lib.run(config)
    missing = config.replace(init_from=self.get_temp_dir() + "/no")
    with self.assertRaisesRegex(errors.RunError,
                                "^init_from: .*config.json does not exist"):
      train_lib.run(missing)


if __name__ == "__main__":
  tf.test.main()
