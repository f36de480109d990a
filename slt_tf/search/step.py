"""The compiled search step: one update of what the method trains."""

import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import images as images_lib
from slt_tf.generators import inputs as inputs_lib
from slt_tf.search.state import State
from slt_tf.ticket import layers


def train_step_fn(config: TrainConfig, strategy, state: State):
  """The compiled search step ``train_step(batch)``: one update of what the
  method trains, from the batch the loop made
  (``slt_tf.search.latents.step_batch``: ``latents``, and ``real`` for the
  adversarial method). It reads and updates ``state`` and nothing else.

  Every method returns the moment-matching metrics (``loss``, ``loss_mean``,
  ``loss_var``, ``mean_mse``, ``var_mse``), so that their curves compare;
  ``adversarial_ticket`` adds ``g_loss`` and ``d_loss``, and its ``loss`` is
  the generator's hinge loss.
  """
  generator, objective = state.generator, state.objective
  extractor, optimizer = state.extractor.model, state.optimizer
  discriminator, d_optimizer = state.discriminator, state.d_optimizer
  method = config.method_spec
  variables = generator.trainable_variables
  global_scope = (config.ticket.mode == "ticket"
                  and config.ticket.mask_scope == "global")
  replicas = strategy.num_replicas_in_sync
  local_batch = config.optim.batch_size // replicas

  def local_part(tensors):
    context = tf.distribute.get_replica_context()
    start = context.replica_id_in_sync_group * local_batch
    return [t[start:start + local_batch] for t in tensors]

  def rgb(fake):
    # Gray samples reach the 3-channel feature net as 3 equal channels.
    return images_lib.to_rgb(fake)

  def generate(local):
    # float32 out whatever the precision; the feature net casts to its own.
    return tf.cast(generator(local, training=True), tf.float32)

  def replica_step(inputs, real):
    local = local_part(inputs)
    local = inputs_lib.generator_input(local)
    if global_scope:
      layers.update_global_thresholds(generator)
    if not method.trains:
      # Batch-norm statistics only; the loss is logged for comparison.
      fake = generate(local)
      loss, metrics = objective(extractor(rgb(fake), training=False))
      return dict(metrics, loss=loss)
    with tf.GradientTape() as tape:
      fake = generate(local)
      if not method.adversarial:
        loss, metrics = objective(extractor(rgb(fake), training=False))
    if method.adversarial:
      loss, metrics = adversarial_losses(
          tape, fake, local_part([real])[0], discriminator, d_optimizer,
          replicas)
    with tape:
      # The all-reduce's gradient sums: moment matching's loss is global on
      # every replica, the hinge loss a per-replica mean. float16's loss
      # scale multiplies it (identity otherwise); apply_gradients divides.
      scaled = optimizer.scale_loss(loss / replicas)
    grads = tape.gradient(scaled, variables)
    if method.adversarial:  # Monitored, for comparison with moment matching.
      _, moments = objective(extractor(rgb(fake), training=False))
      metrics = dict(moments, **metrics)
    if state.gradient_masks is not None:
      grads = [g * m for g, m in zip(grads, state.gradient_masks)]
    optimizer.apply_gradients(zip(grads, variables))
    return dict(metrics, loss=loss)

  per_replica = replica_step
  if config.runtime.jit_compile and replicas > 1:
    per_replica = tf.function(replica_step, jit_compile=True)

  @tf.function(jit_compile=config.runtime.jit_compile and replicas == 1)
  def train_step(batch: dict):
    real = batch["real"] if method.adversarial else tf.zeros([])
    metrics = strategy.run(per_replica, args=(batch["latents"], real))
    state.step.assign_add(1)
    if method.adversarial:  # A per-replica quantity: average it.
      metrics = {k: (strategy.reduce("MEAN", v, axis=None)
                     if k in _PER_REPLICA_METRICS else v)
                 for k, v in metrics.items()}
    return {k: strategy.experimental_local_results(v)[0]
            for k, v in metrics.items()}

  return train_step


_PER_REPLICA_METRICS = ("loss", "g_loss", "d_loss")


def adversarial_losses(g_tape, fake, real, discriminator, d_optimizer,
                       replicas):
  """One discriminator step (hinge loss), then the generator's hinge loss
  against the updated discriminator, recorded on ``g_tape`` (which recorded
  ``fake`` and is resumed here)."""
  with tf.GradientTape() as d_tape:
    d_real = discriminator(real, training=True)
    d_fake = discriminator(tf.stop_gradient(fake), training=True)
    d_real, d_fake = tf.cast(d_real, tf.float32), tf.cast(d_fake, tf.float32)
    d_loss = (tf.reduce_mean(tf.nn.relu(1.0 - d_real))
              + tf.reduce_mean(tf.nn.relu(1.0 + d_fake)))
    scaled = d_optimizer.scale_loss(d_loss / replicas)
  d_variables = discriminator.trainable_variables
  d_optimizer.apply_gradients(zip(d_tape.gradient(scaled, d_variables),
                                  d_variables))
  with g_tape:
    g_loss = -tf.reduce_mean(tf.cast(discriminator(fake, training=True),
                                     tf.float32))
  return g_loss, {"g_loss": g_loss, "d_loss": d_loss}
