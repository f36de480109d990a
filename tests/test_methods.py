"""The baselines as methods of the search: what each updates and what it keeps."""

import dataclasses

import numpy as np
import tensorflow as tf

from slt_tf import data
from slt_tf import generators
from slt_tf import layers
from slt_tf import methods
from slt_tf import train_lib
from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions
import testutil


def bn_statistics(generator):
  return {v.path: v.numpy() for v in generator.non_trainable_variables
          if "moving_" in v.path}


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


class MethodRunTest(tf.test.TestCase):

  def run_method(self, method, steps=3, **overrides):
    config = testutil.tiny_config(f"{self.get_temp_dir()}/{method}",
                                  method=method, train_steps=steps,
                                  **overrides)
    result = train_lib.run(config)
    fresh = generators.build(config.arch, **config.generator_kwargs())
    return config, result, fresh, train_lib.restore_generator(config)

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
    fresh_d = generators.build_discriminator(32, ch=8, seed=config.seed)
    before = [v.numpy() for v in fresh_d.trainable_variables]
    tf.train.Checkpoint(discriminator=fresh_d).restore(
        tf.train.latest_checkpoint(train_lib.checkpoint_dir(
            config.workdir))).expect_partial()
    for old, new in zip(before, fresh_d.trainable_variables):
      self.assertNotAllClose(old, new.numpy(), msg=new.path)

  def testAdversarialTicket_ResumedRunEqualsAnUninterruptedOne(self):
    base = self.get_temp_dir()
    straight = testutil.tiny_config(base + "/straight", train_steps=4,
                                    checkpoint_every=2,
                                    method="adversarial_ticket", d_width=8)
    train_lib.run(straight)
    split = dataclasses.replace(straight, workdir=base + "/split",
                                train_steps=2)
    train_lib.run(split)
    train_lib.run(dataclasses.replace(split, train_steps=4))
    a = testutil.checkpoint_tensors(straight.workdir)
    b = testutil.checkpoint_tensors(split.workdir)
    self.assertCountEqual(a, b)
    self.assertTrue(any(k.startswith("discriminator/") for k in a))
    for name in a:
      self.assertAllEqual(a[name], b[name], msg=name)

  def testFinetune_StartsFromTheTicketAndKeepsPrunedWeightsAtZero(self):
    ticket_config, _, _, ticket = self.run_method("ticket", steps=2)
    z = tf.random.stateless_normal([4, ticket_config.latent_size], [1, 2])
    config = testutil.tiny_config(
        self.get_temp_dir() + "/finetune", method="finetune", train_steps=3,
        init_from=ticket_config.workdir, learning_rate=1e-2)
    # Step 0 (before any update): the fine-tuned network is the ticket.
    state = train_lib.build_state(
        config, tf.distribute.get_strategy(), config.cache_dir,
        train_lib._extractor_weights(config, config.cache_dir))
    self.assertAllClose(state.generator(z, training=False),
                        ticket(z, training=False), atol=1e-5)
    train_lib.run(config)
    tuned = train_lib.restore_generator(config)
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
    with self.assertRaisesRegex(train_lib.RunError,
                                "^init_from: .* different generator"):
      train_lib.run(config)
    missing = dataclasses.replace(config, init_from=self.get_temp_dir() + "/no")
    with self.assertRaisesRegex(train_lib.RunError,
                                "^init_from: .*config.json does not exist"):
      train_lib.run(missing)


class RealBatchTest(tf.test.TestCase):

  def testRealBatch_AFunctionOfSeedAndStepDrawnFromTheDataset(self):
    config = testutil.tiny_config("unused", method="adversarial_ticket")
    images = train_lib._real_images_in_memory(config)
    self.assertEqual(images.dtype, tf.uint8)
    self.assertEqual(images.shape[0], config.max_real_images)
    reference = np.concatenate([b.numpy() for b in data.load(
        config.dataset, 32, "train", config.data_dir).dataset.take(
            config.max_real_images).batch(64)])
    self.assertAllClose(images.numpy() / 127.5 - 1.0, reference,
                        atol=1 / 127.5)
    a = train_lib.real_batch(config, images, 5)
    self.assertAllEqual(a, train_lib.real_batch(config, images, 5))
    self.assertNotAllClose(a, train_lib.real_batch(config, images, 6))
    self.assertEqual(a.shape, (config.batch_size, 32, 32, 3))
    # Every image of the batch is one of the dataset's.
    flat = images.numpy().reshape(len(images.numpy()), -1) / 127.5 - 1.0
    for image in a.numpy().reshape(config.batch_size, -1):
      self.assertLess(np.min(np.abs(flat - image).max(axis=1)), 1e-6)


class HingeLossTest(tf.test.TestCase):

  def testHingeLosses_MatchNumPy(self):
    """A linear stand-in discriminator makes the hinge terms computable."""
    import keras  # pylint: disable=g-import-not-at-top
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
    g_loss, values = train_lib._adversarial_losses(
        tape, fake_t, tf.constant(real), discriminator, optimizer, 1)
    d = lambda x: x.reshape(len(x), -1) @ weights
    expected_d = (np.mean(np.maximum(0, 1 - d(real)))
                  + np.mean(np.maximum(0, 1 + d(fake))))
    self.assertAllClose(values["d_loss"], expected_d, rtol=1e-5)
    self.assertAllClose(g_loss, -np.mean(d(fake)), rtol=1e-5)


if __name__ == "__main__":
  tf.test.main()
