"""The moment-matching ticket search as a library function: ``run(config)``.

One step: sample the global batch of latents from ``(seed, step)``, split it
over the replicas, generate, extract features, compute the moment-matching loss
on the global batch moments (``slt_tf.losses``), and update the scores (ticket
mode) or the weights (dense mode) with Adam. The latents are a function of the
step, and every stateful tensor (scores, optimiser slots, moving averages,
batch-norm statistics, power iterations, step) is checkpointed, so a run killed
and restarted in the same workdir continues exactly where it stopped.

Outputs under ``config.workdir``:

* ``config.json``, ``flags.txt``: the effective configuration and flags.
* ``checkpoints/``: ``tf.train.CheckpointManager`` checkpoints.
* ``tensorboard/``: loss terms, learning rate, steps/s, kept fractions, mask
  flip rate, score histograms, the fixed-z sample grid.
* ``samples/step_NNNNNNN.png``: the same grids as PNG.
* ``result.json``: final step and metrics.
"""

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import threading
import time
from typing import Dict, List, Optional

from absl import logging
import keras
import numpy as np
import tensorflow as tf

from slt_tf import cache
from slt_tf import config as config_lib
from slt_tf import data
from slt_tf import features as features_lib
from slt_tf import fileio
from slt_tf import generators
from slt_tf import images
from slt_tf import layers
from slt_tf import losses
from slt_tf import real_stats
from slt_tf import runtime
from slt_tf.config import TrainConfig
from slt_tf.features import classifier

_SAMPLE_SEED = 0x5A3
_REAL_SEED_OFFSET = 1 << 32  # Keeps the real-batch draws apart from latents'.


class RunError(ValueError):
  """A run that cannot start; the message names the flag or file at fault."""


class WorkerLost(RuntimeError):
  """Another worker of a multi-worker run died or stopped answering."""


# Raised by collective ops when a peer dies (Unavailable, Aborted, Cancelled)
# or exceeds --collective_timeout_s (DeadlineExceeded).
_PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError,
                tf.errors.CancelledError, tf.errors.DeadlineExceededError)


def fixed_latents(config: TrainConfig) -> list:
  """The fixed inputs of the sample grid: z (and labels), from the run's seed."""
  z = tf.random.stateless_normal([config.num_samples, config.latent_size],
                                 seed=[config.seed, _SAMPLE_SEED])
  if config.num_classes:
    return [z, tf.range(config.num_samples) % config.num_classes]
  return [z]


def latent_batch(batch: int, nz: int, num_classes: int, seed) -> list:
  """Generator inputs drawn statelessly from ``seed`` (an int64 pair): [z],
  or [z, labels] for a conditional generator."""
  seed = tf.cast(seed, tf.int64)
  z = tf.random.stateless_normal([batch, nz], seed=seed)
  if num_classes:
    labels = tf.random.stateless_uniform(
        [batch], seed=seed + [0, 1 << 40], minval=0, maxval=num_classes,
        dtype=tf.int32)
    return [z, labels]
  return [z]


def step_latents(config: TrainConfig, step) -> list:
  """The global batch of generator inputs of ``step`` (a function of seed, step)."""
  seed = tf.stack([tf.constant(config.seed, tf.int64),
                   tf.cast(step, tf.int64)])
  return latent_batch(config.batch_size, config.latent_size,
                      config.num_classes, seed)


def make_strategy(config: TrainConfig) -> tf.distribute.Strategy:
  """The distribution strategy the config asks for (see ``TrainConfig``)."""
  gpus = tf.config.list_physical_devices("GPU")
  name = config.strategy
  if name == "auto":
    name = "mirrored" if len(gpus) > 1 else "default"
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise RunError("strategy: 'multi_worker' needs the TF_CONFIG "
                     "environment variable describing the cluster")
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=config.collective_timeout_s or None)
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=options)
  if gpus or config.cpu_replicas == 1:
    return mirrored_strategy(None)
  return mirrored_strategy(tuple(_logical_cpus(config.cpu_replicas)))


_MIRRORED = {}


def is_chief(strategy) -> bool:
  """Whether this process writes the run's outputs (always, but for workers
  other than the chief under MultiWorkerMirroredStrategy)."""
  resolver = getattr(strategy, "cluster_resolver", None)
  cluster = resolver.cluster_spec().as_dict() if resolver else {}
  if not cluster:
    return True
  if resolver.task_type == "chief":
    return True
  return (resolver.task_type == "worker" and resolver.task_id == 0
          and "chief" not in cluster)


def mirrored_strategy(devices=None) -> tf.distribute.MirroredStrategy:
  """One MirroredStrategy per device set and process.

  Two strategies over the same devices number their collective ops alike, and
  the second one's all-reduces then clash with the first's; runs in one process
  (tests, sweeps) therefore share the strategy.
  """
  key = tuple(devices) if devices else None
  if key not in _MIRRORED:
    _MIRRORED[key] = tf.distribute.MirroredStrategy(list(key) if key else None)
  return _MIRRORED[key]


def _logical_cpus(n: int) -> List[str]:
  cpu = tf.config.list_physical_devices("CPU")[0]
  try:
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * n)
  except RuntimeError:
    pass  # Already initialised: use the logical devices as they are.
  devices = tf.config.list_logical_devices("CPU")
  if len(devices) < n:
    raise RunError(f"cpu_replicas: {n} logical CPU devices requested but "
                   f"TensorFlow was initialised with {len(devices)}")
  return [d.name for d in devices[:n]]


class MaskMonitor:
  """Kept fractions and the mask flip rate (mask bits changed since last call)."""

  def __init__(self, model):
    self.layers = [l for l in layers.masked_layers(model) if l.is_ticket]
    self._previous: Optional[List[np.ndarray]] = None

  def measure(self) -> Dict[str, float]:
    masks = []
    for layer in self.layers:
      parts = [layer.mask()]
      if layer.bias_scores is not None:
        parts.append(layer.bias_mask())
      masks.append(np.concatenate([np.asarray(p).ravel() for p in parts]) > 0)
    if not masks:
      return {}
    kept = sum(int(m.sum()) for m in masks)
    total = sum(m.size for m in masks)
    result = {"kept_fraction/total": kept / total}
    for layer, m in zip(self.layers, masks):
      result[f"kept_fraction/{layer.path}"] = float(m.mean())
    if self._previous is not None:
      flips = sum(int(np.count_nonzero(a != b))
                  for a, b in zip(masks, self._previous))
      result["mask_flip_rate"] = flips / total
    self._previous = masks
    return result


@dataclasses.dataclass
class _State:
  generator: keras.Model
  extractor: features_lib.FeatureExtractor
  objective: losses.MomentMatching
  optimizer: keras.optimizers.Optimizer
  step: tf.Variable
  checkpoint: tf.train.Checkpoint
  # adversarial_ticket only:
  discriminator: Optional[keras.Model] = None
  d_optimizer: Optional[keras.optimizers.Optimizer] = None
  real_images: Optional[tf.Variable] = None  # uint8 (N, H, W, 3), on the host.
  # finetune only: one 0/1 tensor per trainable variable.
  gradient_masks: Optional[List[tf.Tensor]] = None


def _learning_rate(config: TrainConfig):
  if config.lr_schedule == "cosine":
    return keras.optimizers.schedules.CosineDecay(config.learning_rate,
                                                  config.train_steps)
  return config.learning_rate


def _prepare_workdir(config: TrainConfig, flags_text: str) -> bool:
  """Checks a reused workdir, writes config.json and flags.txt; True if reused."""
  path = os.path.join(config.workdir, "config.json")
  reused = os.path.exists(path)
  if reused:
    try:
      with open(path) as f:
        stored = json.load(f)
    except (OSError, ValueError) as e:
      raise RunError(f"workdir: {path} is unreadable ({e}); use a new "
                     "--workdir") from None
    differences = config_lib.identity_mismatch(stored, config)
    if differences:
      raise RunError(f"workdir: {config.workdir} holds a run with a different "
                     f"configuration ({'; '.join(differences)}); use a new "
                     "--workdir or the same flags")
  os.makedirs(config.workdir, exist_ok=True)
  fileio.write_atomic(path, config.to_json().encode())
  if flags_text:
    fileio.write_atomic(os.path.join(config.workdir, "flags.txt"),
                        flags_text.encode())
  return reused


def _extractor_weights(config: TrainConfig, cache_dir: str) -> Optional[str]:
  if config.features != "classifier":
    return config.feature_weights
  if config.feature_weights:
    return config.feature_weights
  path, info = classifier.ensure_trained(config.dataset, config.resolution,
                                         config.seed, cache_dir,
                                         config.data_dir)
  logging.info("feature net: classifier trained on %s (held-out accuracy "
               "%.4f), weights %s", config.dataset, info["test_accuracy"],
               path)
  return path


def build_state(config: TrainConfig, strategy, cache_dir: str,
                weights: Optional[str], real_moments=None,
                real_images: Optional[np.ndarray] = None) -> _State:
  """Everything a search step needs, built under ``strategy``.

  Args:
    config: the run's configuration.
    strategy: its distribution strategy.
    cache_dir: cache of real statistics.
    weights: the feature extractor's weights (see ``features.build``).
    real_moments: (mean, variance) to match instead of the dataset's cached
      statistics (benchmarks on random data).
    real_images: adversarial_ticket: uint8 images (N, H, W, 3) for the
      discriminator instead of the dataset's (benchmarks).
  """
  with strategy.scope():
    keras.utils.set_random_seed(config.seed)
    extractor = features_lib.build(config.features, config.resolution,
                                   weights, config.feature_bn, config.seed,
                                   config.feature_layers)
    logging.info("features: %s", extractor.describe())
    if weights == features_lib.RANDOM:
      logging.warning("the feature extractor has RANDOM weights: the search "
                      "will not learn meaningful images")
    if real_moments is None:
      mean, var, _ = real_stats.load_or_compute(
          extractor, config.dataset, config.resolution, config.split,
          config.batch_size, cache_dir, config.data_dir,
          config.max_real_images)
    else:
      mean, var = real_moments
    generator = generators.build(config.arch, **config.generator_kwargs())
    gradient_masks = (_start_from_ticket(config, generator)
                      if config.method_spec.needs_ticket else None)
    objective = losses.MomentMatching(
        mean, var, config.ama_learning_rate, config.beta1, config.beta2,
        config.adam_epsilon)
    optimizer = keras.optimizers.Adam(
        _learning_rate(config), beta_1=config.beta1, beta_2=config.beta2,
        epsilon=config.adam_epsilon)
    # Built inside the scope before the first step, or MirroredStrategy fails.
    optimizer.build(generator.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    adversarial = {}
    if config.method_spec.adversarial:
      discriminator = generators.build_discriminator(
          config.resolution, ch=config.d_width, seed=config.seed)
      d_optimizer = keras.optimizers.Adam(
          config.d_learning_rate, beta_1=config.d_beta1,
          beta_2=config.d_beta2, epsilon=config.adam_epsilon)
      d_optimizer.build(discriminator.trainable_variables)
      adversarial = dict(discriminator=discriminator, d_optimizer=d_optimizer)
  checkpoint = tf.train.Checkpoint(
      generator=generator, optimizer=optimizer, ama_mean=objective.ama_mean,
      ama_var=objective.ama_var, step=step, **adversarial)
  if config.method_spec.adversarial:
    real_images = _real_images_in_memory(config, real_images)
  return _State(generator, extractor, objective, optimizer, step, checkpoint,
                real_images=real_images, gradient_masks=gradient_masks,
                **adversarial)


def _check_init_from(config: TrainConfig) -> TrainConfig:
  """The config of the ticket in ``config.init_from``, checked without
  restoring it (``check_inputs`` runs this before any output is written).

  Raises:
    RunError: naming ``init_from``, when it is not a compatible ticket.
  """
  source = read_workdir_config(config.init_from, flag="init_from")
  if source.ticket.mode != "ticket":
    raise RunError(f"init_from: {config.init_from} holds a "
                   f"{source.method!r} run, not a ticket")
  mine = dict(config.generator_kwargs(), mode="ticket")
  if source.arch != config.arch or source.generator_kwargs() != mine:
    raise RunError(f"init_from: {config.init_from} holds a different "
                   f"generator ({source.arch} {source.generator_kwargs()}); "
                   "use the ticket's --arch, --resolution, --width, --nz, "
                   "--seed and ticket flags")
  if not tf.train.latest_checkpoint(checkpoint_dir(source.workdir)):
    raise RunError(f"init_from: no checkpoint in "
                   f"{checkpoint_dir(source.workdir)}")
  return source


def _start_from_ticket(config: TrainConfig, generator: keras.Model
                       ) -> List[tf.Tensor]:
  """Sets a dense generator to the ticket of ``config.init_from``: kernels
  and biases ``W * M``, the ticket's batch-norm statistics and power
  iterations. Returns the masks of ``generator.trainable_variables``.

  Raises:
    RunError: naming ``init_from``, when it is not a compatible ticket.
  """
  source = _check_init_from(config)
  ticket = restore_generator(source)
  if source.ticket.mask_scope == "global":
    layers.update_global_thresholds(ticket)
  logging.info("finetune: starting from the ticket in %s", config.init_from)
  masks, values = {}, {v.path: v for v in ticket.variables}
  for layer in layers.masked_layers(ticket):
    # All ones for layers kept whole (first_dense, last_dense): all trainable.
    masks[layer.kernel.path] = tf.cast(layer.mask(), tf.float32)
    if layer.bias is not None:
      masks[layer.bias.path] = tf.cast(layer.bias_mask(), tf.float32)
  for variable in generator.variables:
    if variable.path not in values:
      raise RunError(f"init_from: the ticket has no variable "
                     f"{variable.path}")
    source_value = values[variable.path]
    if variable.path in masks:
      source_value = source_value * masks[variable.path]
    variable.assign(source_value)
  return [masks[v.path] for v in generator.trainable_variables]


def _real_images_in_memory(config: TrainConfig,
                           array: Optional[np.ndarray] = None) -> tf.Variable:
  """The training split as uint8 in host memory, for the discriminator.

  Real batches are then a function of (seed, step), as the latents are, so
  that a restarted adversarial run continues exactly; uint8 keeps CelebA 64
  at 2.4 GB (``max_real_images`` caps it).
  """
  if array is None:
    source = data.load(config.dataset, config.resolution, config.split,
                       config.data_dir)
    ds = source.dataset
    if config.max_real_images:
      ds = ds.take(config.max_real_images)
    array = np.concatenate([
        tf.cast(tf.round((batch + 1.0) * 127.5), tf.uint8).numpy()
        for batch in ds.batch(1024)])
  logging.info("adversarial: %d real images held in memory (%.1f MB)",
               len(array), array.nbytes / 2**20)
  with tf.device("/cpu:0"):
    return tf.Variable(array, trainable=False, name="real_images")


def real_batch(config: TrainConfig, images: tf.Variable, step) -> tf.Tensor:
  """The global batch of real images of ``step`` in [-1, 1] (drawn with
  replacement, a function of seed and step)."""
  seed = tf.stack([tf.constant(config.seed + _REAL_SEED_OFFSET, tf.int64),
                   tf.cast(step, tf.int64)])
  index = tf.random.stateless_uniform(
      [config.batch_size], seed=seed, minval=0,
      maxval=tf.shape(images, out_type=tf.int64)[0], dtype=tf.int64)
  return tf.cast(tf.gather(images, index), tf.float32) / 127.5 - 1.0


def train_step_fn(config: TrainConfig, strategy, state: _State):
  """The compiled search step: one update of what the method trains.

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
  local_batch = config.batch_size // replicas

  def local_part(tensors):
    context = tf.distribute.get_replica_context()
    start = context.replica_id_in_sync_group * local_batch
    return [t[start:start + local_batch] for t in tensors]

  def replica_step(inputs, real):
    local = local_part(inputs)
    local = local if len(local) > 1 else local[0]
    if global_scope:
      layers.update_global_thresholds(generator)
    if not method.trains:
      # Batch-norm statistics only; the loss is logged for comparison.
      fake = generator(local, training=True)
      loss, metrics = objective(extractor(fake, training=False))
      return dict(metrics, loss=loss)
    with tf.GradientTape() as tape:
      fake = generator(local, training=True)
      if not method.adversarial:
        loss, metrics = objective(extractor(fake, training=False))
    if method.adversarial:
      loss, metrics = _adversarial_losses(
          tape, fake, local_part([real])[0], discriminator, d_optimizer,
          replicas)
    with tape:
      # The all-reduce's gradient sums: moment matching's loss is global on
      # every replica, the hinge loss a per-replica mean.
      scaled = loss / replicas
    grads = tape.gradient(scaled, variables)
    if method.adversarial:  # Monitored, for comparison with moment matching.
      _, moments = objective(extractor(fake, training=False))
      metrics = dict(moments, **metrics)
    if state.gradient_masks is not None:
      grads = [g * m for g, m in zip(grads, state.gradient_masks)]
    optimizer.apply_gradients(zip(grads, variables))
    return dict(metrics, loss=loss)

  @tf.function
  def train_step():
    inputs = step_latents(config, state.step)
    real = (real_batch(config, state.real_images, state.step)
            if method.adversarial else tf.zeros([]))
    metrics = strategy.run(replica_step, args=(inputs, real))
    state.step.assign_add(1)
    if method.adversarial:  # A per-replica quantity: average it.
      metrics = {k: (strategy.reduce("MEAN", v, axis=None)
                     if k in _PER_REPLICA_METRICS else v)
                 for k, v in metrics.items()}
    return {k: strategy.experimental_local_results(v)[0]
            for k, v in metrics.items()}

  return train_step


_PER_REPLICA_METRICS = ("loss", "g_loss", "d_loss")


def _adversarial_losses(g_tape, fake, real, discriminator, d_optimizer,
                        replicas):
  """One discriminator step (hinge loss), then the generator's hinge loss
  against the updated discriminator, recorded on ``g_tape`` (which recorded
  ``fake`` and is resumed here)."""
  with tf.GradientTape() as d_tape:
    d_real = discriminator(real, training=True)
    d_fake = discriminator(tf.stop_gradient(fake), training=True)
    d_loss = (tf.reduce_mean(tf.nn.relu(1.0 - d_real))
              + tf.reduce_mean(tf.nn.relu(1.0 + d_fake)))
    scaled = d_loss / replicas
  d_variables = discriminator.trainable_variables
  d_optimizer.apply_gradients(zip(d_tape.gradient(scaled, d_variables),
                                  d_variables))
  with g_tape:
    g_loss = -tf.reduce_mean(discriminator(fake, training=True))
  return g_loss, {"g_loss": g_loss, "d_loss": d_loss}


class BestKeeper:
  """Evaluates on the selection split and keeps the best checkpoint.

  The best generator (lowest FID on ``data.held_out_splits(...)[0]``) is
  written to ``WORKDIR/best/ckpt-STEP`` and named in ``best/best.json``; the
  report split is never looked at here.
  """

  def __init__(self, config: TrainConfig, state: "_State"):
    # Imported here: evaluate_lib imports this module.
    from slt_tf import evaluate_lib  # pylint: disable=g-import-not-at-top
    self._lib = evaluate_lib
    self.config, self.state = config, state
    self.split = data.held_out_splits(config.dataset, config.data_dir)[0]
    self.evaluator = evaluate_lib.Evaluator(
        config, self.split, config.eval_samples, config.eval_backbone,
        config.eval_backbone_weights, config.cache_dir)
    self.key = evaluate_lib.metric_name("fid", self.evaluator.backbone.name,
                                        self.evaluator.n)
    self.directory = os.path.join(config.workdir, evaluate_lib.BEST)
    self.best = None
    best_json = os.path.join(self.directory, "best.json")
    if os.path.exists(best_json):
      with open(best_json) as f:
        self.best = json.load(f)

  def __call__(self, step: int) -> None:
    values = self.evaluator.evaluate(self.state.generator)
    self._lib.write_result(self.config.workdir, self.split, step, {
        "metrics": values, "step": step, "split": self.split,
        "backbone": self.evaluator.backbone.name, "n": self.evaluator.n})
    value = values[self.key]
    if self.best is not None and not value < self.best["value"]:
      return
    name = f"ckpt-{step}"
    tf.train.Checkpoint(generator=self.state.generator,
                        step=self.state.step).write(
                            os.path.join(self.directory, name))
    previous = self.best["checkpoint"] if self.best else None
    self.best = {"checkpoint": name, "step": step, "metric": self.key,
                 "value": value, "split": self.split}
    fileio.write_json(os.path.join(self.directory, "best.json"), self.best)
    if previous and previous != name:
      for path in tf.io.gfile.glob(os.path.join(self.directory,
                                                previous + ".*")):
        tf.io.gfile.remove(path)
    logging.info("step %d: new best %s %.4g on %s, saved in %s", step,
                 self.key, value, self.split, self.directory)


def _first_cause(error: Exception) -> str:
  """The informative line of a TensorFlow runtime error (for one-line errors)."""
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  keys = ("aborted by", "heartbeat", "timed out", "deadline", "connection",
          "unavailable", "failed to connect")
  telling = [l for l in lines if any(k in l.lower() for k in keys)]
  return (telling or lines or [""])[0][:200]


class _StopRequest:
  """SIGTERM (pre-emption) and SIGINT (Ctrl-C) end the loop after the current
  step, which is then checkpointed; a second signal acts as usual."""

  def __init__(self):
    self.signal = None

  @property
  def signal_name(self) -> Optional[str]:
    return signal.Signals(self.signal).name if self.signal else None

  def _handle(self, signum, frame):
    del frame
    if self.signal is not None:  # Second signal: stop waiting.
      raise KeyboardInterrupt
    self.signal = signum
    logging.warning("%s received: checkpointing after this step",
                    signal.Signals(signum).name)

  @contextlib.contextmanager
  def installed(self):
    if threading.current_thread() is not threading.main_thread():
      yield  # Signal handlers can only be set from the main thread.
      return
    previous = {s: signal.signal(s, self._handle)
                for s in (signal.SIGTERM, signal.SIGINT)}
    try:
      yield
    finally:
      for s, handler in previous.items():
        signal.signal(s, handler)


def restore_latest(checkpoint: tf.train.Checkpoint, directory: str
                   ) -> Optional[str]:
  """Restores the newest readable checkpoint in ``directory``; its path.

  A corrupted or truncated newest checkpoint is reported with a warning naming
  it and the previous one is used instead. Returns None when there is none.

  Raises:
    RunError: checkpoints exist but none can be read.
  """
  state = tf.train.get_checkpoint_state(directory)
  if state is None:
    return None
  candidates = list(state.all_model_checkpoint_paths) or [
      state.model_checkpoint_path]
  # get_checkpoint_state has already joined relative entries to
  # ``directory``; joining again broke resuming in a relative workdir.
  for path in reversed(candidates):
    try:
      checkpoint.restore(path).assert_consumed()
      return path
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as e:
      # IndexError: a truncated data file ("Read less bytes than requested").
      logging.warning("checkpoint %s is unreadable (%s: %s); trying the "
                      "previous one", path, type(e).__name__,
                      str(e).splitlines()[0] if str(e) else "")
  raise RunError(f"workdir: none of the checkpoints in {directory} can be "
                 "read; move them away to start again")


def check_inputs(config: TrainConfig) -> None:
  """Fails fast, before any work, on a dataset or weights that cannot work.

  Raises:
    data.DataError, features.WeightsError: naming the flag and what is wrong.
  """
  data.check(config.dataset, config.split, config.data_dir, config.download)
  if config.features == "classifier" and not config.feature_weights:
    data.load(config.dataset, config.resolution, config.split,
              config.data_dir, with_labels=True)  # Fails without labels.
  else:
    features_lib.check_weights(config.features, config.feature_weights)
  if config.method_spec.needs_ticket:
    _check_init_from(config)


def _log_progress(config: TrainConfig, writer, step: int, metrics: dict,
                  lr: float, rate: float) -> None:
  with writer.as_default(step=step):
    for name, value in metrics.items():
      tf.summary.scalar(f"loss/{name}", value)
    tf.summary.scalar("learning_rate", lr)
    tf.summary.scalar("steps_per_second", rate)
  logging.info(
      "step %d/%d  loss %.4g (mean %.4g, var %.4g)  mse mean %.3g var %.3g  "
      "%.2f steps/s  ETA %s", step, config.train_steps, metrics["loss"],
      metrics["loss_mean"], metrics["loss_var"], metrics["mean_mse"],
      metrics["var_mse"], rate,
      _format_eta((config.train_steps - step) / max(rate, 1e-9)))


def _write_samples_and_masks(config: TrainConfig, state: _State, writer,
                             step: int, sample_fn, monitor: MaskMonitor):
  """The fixed-z grid (PNG and TensorBoard), kept fractions, flip rate and
  score histograms."""
  grid = images.make_grid(np.asarray(sample_fn()))
  path = os.path.join(config.workdir, "samples", f"step_{step:07d}.png")
  images.write_png(path, grid)
  with writer.as_default(step=step):
    tf.summary.image("samples", grid[None], max_outputs=1)
  if not monitor.layers:
    logging.info("step %d: samples %s", step, path)
    return
  if config.ticket.mask_scope == "global":
    layers.update_global_thresholds(state.generator)
  stats = monitor.measure()
  with writer.as_default(step=step):
    for name, value in stats.items():
      tf.summary.scalar(name, value)
    for layer in monitor.layers:
      for v in layer.score_variables():
        tf.summary.histogram(f"scores/{layer.path}/{v.name}", v)
  logging.info("step %d: samples %s; kept %.4f, mask flip rate %s", step,
               path, stats["kept_fraction/total"],
               f"{stats['mask_flip_rate']:.4g}" if "mask_flip_rate" in stats
               else "n/a")


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(workdir, "checkpoints")


def read_workdir_config(workdir: str, flag: str = "workdir") -> TrainConfig:
  """The ``TrainConfig`` a run wrote to its workdir.

  Raises:
    RunError: naming ``flag`` and the workdir, when it has no readable
      ``config.json``.
  """
  path = os.path.join(workdir, "config.json")
  try:
    with open(path) as f:
      return TrainConfig.from_json(f.read())
  except FileNotFoundError:
    raise RunError(f"{flag}: {path} does not exist") from None
  except (OSError, ValueError, TypeError) as e:
    raise RunError(f"{flag}: {path} is unreadable ({e})") from None


def restore_generator(config: TrainConfig, checkpoint: Optional[str] = None
                      ) -> keras.Model:
  """The generator of a run, with a checkpoint's scores and statistics.

  Args:
    config: the run's configuration (``config.json`` of its workdir).
    checkpoint: a checkpoint prefix; default: the latest in the workdir.

  Raises:
    RunError: the workdir has no checkpoint.
  """
  path = checkpoint or tf.train.latest_checkpoint(
      checkpoint_dir(config.workdir))
  if not path:
    raise RunError(f"workdir: no checkpoint in "
                   f"{checkpoint_dir(config.workdir)}")
  generator = generators.build(config.arch, **config.generator_kwargs())
  tf.train.Checkpoint(generator=generator).restore(path).expect_partial()
  return generator


def _format_eta(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  h, rest = divmod(seconds, 3600)
  m, s = divmod(rest, 60)
  return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def run(config: TrainConfig, flags_text: str = "") -> dict:
  """Runs (or resumes) the search configured by ``config``.

  Args:
    config: the run's configuration.
    flags_text: the effective command-line flags, written next to the outputs.

  Returns:
    A summary: final step, last metrics, parameter counts, paths.

  Raises:
    RunError, data.DataError, features.WeightsError: the run cannot start; the
      message names the flag or file.
  """
  strategy = make_strategy(config)  # First: it may configure logical devices.
  runtime.log_once()
  if config.batch_size % strategy.num_replicas_in_sync:
    raise RunError(f"batch_size: {config.batch_size} is not divisible by the "
                   f"{strategy.num_replicas_in_sync} replicas")
  check_inputs(config)
  chief = is_chief(strategy)
  reused = (_prepare_workdir(config, flags_text) if chief else
            os.path.exists(os.path.join(config.workdir, "config.json")))
  cache_dir = config.cache_dir or cache.default_dir()
  weights = _extractor_weights(config, cache_dir)
  state = build_state(config, strategy, cache_dir, weights)
  counts = generators.prunable_parameter_count(state.generator)
  logging.info("generator %s %dpx: %s prunable parameters, mode=%s "
               "keep_ratio=%g mask_scope=%s; %d replica(s), global batch %d",
               config.arch, config.resolution, f"{counts['total']:,}",
               config.ticket.mode, config.ticket.keep_ratio,
               config.ticket.mask_scope, strategy.num_replicas_in_sync,
               config.batch_size)

  # Every worker saves (the save is collective); only the chief's copy is
  # the run's, the others write to a scratch directory.
  directory = checkpoint_dir(config.workdir)
  if not chief:
    resolver = strategy.cluster_resolver
    directory = os.path.join(
        config.workdir, f".scratch_{resolver.task_type}_{resolver.task_id}")
  manager = tf.train.CheckpointManager(state.checkpoint, directory,
                                       max_to_keep=config.keep_checkpoints)
  latest = restore_latest(state.checkpoint, checkpoint_dir(config.workdir))
  if latest:
    logging.info("resuming from %s at step %d", latest,
                 int(state.step.numpy()))
  elif reused:
    logging.info("workdir %s has no checkpoint; starting at step 0",
                 config.workdir)

  train_step = train_step_fn(config, strategy, state)
  latents = fixed_latents(config)
  sample_fn = tf.function(lambda: state.generator(
      latents if len(latents) > 1 else latents[0], training=False))
  writer = (tf.summary.create_file_writer(
      os.path.join(config.workdir, "tensorboard")) if chief
            else tf.summary.create_noop_writer())
  monitor = MaskMonitor(state.generator if chief else [])
  if monitor.layers:
    monitor.measure()  # Baseline of the flip rate.

  keeper = BestKeeper(config, state) if config.eval_every and chief else None
  schedule = _learning_rate(config)
  step = int(state.step.numpy())
  start_step, metrics = step, {}
  window_start, window_step, run_start = time.time(), step, time.time()
  if step >= config.train_steps:
    logging.info("step %d >= train_steps %d: nothing to do", step,
                 config.train_steps)
  stop, saved_step = _StopRequest(), step
  with stop.installed():
    while step < config.train_steps and not stop.signal:
      try:
        out = train_step()
      except _PEER_ERRORS as e:
        if strategy.num_replicas_in_sync == 1 and config.strategy != (
            "multi_worker"):
          raise
        raise WorkerLost(
            f"step {step + 1} failed because another worker died or stopped "
            f"answering ({type(e).__name__}: {_first_cause(e)}); the last "
            f"checkpoint "
            f"is {manager.latest_checkpoint}; restart every worker with the "
            "same command to resume") from None
      step += 1
      last = step == config.train_steps or stop.signal is not None
      save = step % config.checkpoint_every == 0 or last
      if save or step % config.log_every == 0:
        # Checked before every checkpoint, so none holds a diverged state.
        metrics = {k: float(v) for k, v in out.items()}
        if not np.isfinite(metrics["loss"]):
          raise FloatingPointError(
              f"non-finite loss {metrics['loss']} at step {step}; stopped "
              "without saving it; the last good checkpoint is "
              f"{manager.latest_checkpoint}")
      if step % config.log_every == 0 or last:
        now = time.time()
        rate = (step - window_step) / max(now - window_start, 1e-9)
        window_start, window_step = now, step
        lr = float(schedule(step - 1) if callable(schedule) else schedule)
        _log_progress(config, writer, step, metrics, lr, rate)
      if chief and (step % config.sample_every == 0 or last):
        _write_samples_and_masks(config, state, writer, step, sample_fn,
                                 monitor)
      if keeper and (step % config.eval_every == 0 or last):
        keeper(step)
      if save:
        saved = manager.save(checkpoint_number=step)
        saved_step = step
        logging.info("step %d: checkpoint %s", step, saved)
    if stop.signal and step > saved_step:
      # The signal came after this step's save decision: save it now.
      if not np.isfinite(float(out["loss"])):
        raise FloatingPointError(
            f"non-finite loss at step {step}; stopped without saving it; the "
            f"last good checkpoint is {manager.latest_checkpoint}")
      manager.save(checkpoint_number=step)
  if stop.signal:
    logging.warning("stopped by %s at step %d; saved %s; rerun the same "
                    "command to resume", stop.signal_name, step,
                    manager.latest_checkpoint)
  writer.flush()
  if not chief:
    shutil.rmtree(directory, ignore_errors=True)
    return {"step": step, "metrics": metrics}
  result = {"step": step, "steps_this_run": step - start_step,
            "stopped_by": stop.signal_name,
            "seconds": time.time() - run_start, "metrics": metrics,
            "parameters": counts, "features": state.extractor.describe(),
            "checkpoint": manager.latest_checkpoint}
  fileio.write_json(os.path.join(config.workdir, "result.json"), result)
  return result
