"""The search loop: ``run(config, hooks)`` runs or resumes one search.

Outputs under ``config.workdir`` (``slt_tf.workdir``): ``config.json``,
``flags.txt``, ``checkpoints/``, ``tensorboard/``, ``samples/``,
``result.json``.

Hooks are how higher layers act during the search without the loop knowing
them (evaluation hands in its best-checkpoint keeper): an object with
``every`` (steps), ``begin(state)`` (called once, after the state is built)
and ``__call__(step)`` (called every ``every`` steps and at the last step).
"""

import contextlib
import os
import shutil
import signal
import threading
import time
from typing import Optional, Sequence, Tuple

from absl import logging
import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import cache
from slt_tf.errors import RunError
from slt_tf import features as features_lib
from slt_tf import fileio
from slt_tf import generators
from slt_tf.generators import inputs as inputs_lib
from slt_tf import runtime
from slt_tf.search import distribution
from slt_tf.search import finetune
from slt_tf.search import latents as latents_lib
from slt_tf.search import state as state_lib
from slt_tf.search import step as step_lib
from slt_tf.search import summaries
from slt_tf import workdir


class StopRequest:
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


def check_inputs(config: TrainConfig) -> None:
  """Fails fast, before any work, on a dataset or weights that cannot work.

  Raises:
    datasets.DataError, features.WeightsError: naming the flag and what is wrong.
  """
  source = config.data.source()
  source.check(config.data.split)
  if config.features.extractor == "classifier" and not config.features.weights:
    # Fails without labels.
    source.load(config.model.resolution, config.data.split, with_labels=True)
  else:
    features_lib.check_weights(config.features.extractor, config.features.weights)
  if config.method_spec.needs_ticket:
    finetune.check_init_from(config)


def run(config: TrainConfig, flags_text: str = "",
        hooks: Sequence[object] = ()) -> dict:
  """Runs (or resumes) the search configured by ``config``.

  Args:
    config: the run's configuration.
    flags_text: the effective command-line flags, written next to the outputs.
    hooks: called during the search on the chief (see the module doc).

  Returns:
    A summary: final step, last metrics, parameter counts, paths.

  Raises:
    RunError, datasets.DataError, features.WeightsError: the run cannot start; the
      message names the flag or file.
  """
  strategy = distribution.make_strategy(config)  # First: it may configure logical devices.
  runtime.log_once()
  distribution.check_jit_compile(config, strategy)
  if config.optim.batch_size % strategy.num_replicas_in_sync:
    raise RunError(f"batch_size: {config.optim.batch_size} is not divisible by the "
                   f"{strategy.num_replicas_in_sync} replicas")
  check_inputs(config)
  chief = distribution.is_chief(strategy)
  # One writer per workdir: the chief holds the lock for the whole run (the
  # other workers write only to their scratch directories).
  lock = (workdir.WorkdirLock(config.workdir, f"a {config.method} search")
          if chief else contextlib.nullcontext())
  with lock:
    try:
      return _search(config, flags_text, hooks, strategy, chief)
    except Exception as e:  # pylint: disable=broad-except
      if not fileio.out_of_space(e):
        raise
      directory = workdir.checkpoint_dir(config.workdir)
      for partial in tf.io.gfile.glob(os.path.join(directory, "*_temp")):
        shutil.rmtree(partial, ignore_errors=True)  # A checkpoint half-saved.
      latest = tf.train.latest_checkpoint(directory)
      raise RunError(
          f"workdir: cannot write {fileio.no_space_text(e, config.workdir)}; "
          f"the last checkpoint ({latest or 'none yet'}) is intact: free "
          "space and rerun the same command to resume") from None


def itstime(step: int, every: int, last: bool = False) -> bool:
  """Whether a task done every ``every`` steps is due after ``step``; every
  task is due after the last step (``last``), so that the end is always
  logged, checkpointed and evaluated."""
  return last or (every > 0 and step % every == 0)


def finite_metrics(out: dict, step: int, last_checkpoint: Optional[str]
                   ) -> dict:
  """The step's outputs as floats, refused when the loss is not finite:
  every checkpoint is preceded by this check, so none holds a diverged
  state.

  Raises:
    FloatingPointError: naming the step and the last good checkpoint.
  """
  metrics = {k: float(v) for k, v in out.items()}
  if not np.isfinite(metrics["loss"]):
    raise FloatingPointError(
        f"non-finite loss {metrics['loss']} at step {step}; stopped without "
        f"saving it; the last good checkpoint is {last_checkpoint}")
  return metrics


def run_steps(config: TrainConfig, step: int, train_step, actions,
              stop: StopRequest, save, last_checkpoint) -> Tuple[int, dict]:
  """Steps from ``step`` until ``config.optim.train_steps`` or a stop request.

  Args:
    config: its ``train_steps``, ``log_every`` and ``checkpoint_every``.
    step: the step reached so far.
    train_step: step reached -> the next step's outputs (a dict with
      "loss").
    actions: (every, fn) pairs: ``fn(step, metrics)`` runs when
      ``itstime(step, every, last)``, in order (logging, samples, hooks).
    stop: the signals' stop request; a stopped loop also saves its step.
    save: step -> None, the checkpoint; due every ``checkpoint_every``
      steps, at the last step and when stopped.
    last_checkpoint: () -> the newest checkpoint's path (for messages).

  Returns:
    (the step reached, the last checked metrics).

  Raises:
    FloatingPointError: a non-finite loss (before it could be saved).
  """
  metrics, saved_at = {}, step
  while step < config.optim.train_steps and not stop.signal:
    out = train_step(step)
    step += 1
    last = step == config.optim.train_steps or stop.signal is not None
    due = itstime(step, config.runtime.checkpoint_every, last)
    if due or itstime(step, config.runtime.log_every):
      metrics = finite_metrics(out, step, last_checkpoint())
    for every, action in actions:
      if itstime(step, every, last):
        action(step, metrics)
    if due:
      save(step)
      saved_at = step
  if stop.signal and step > saved_at:
    # The signal came after this step's save decision: save it now.
    metrics = finite_metrics(out, step, last_checkpoint())
    save(step)
  return step, metrics


def _guarded_step(config: TrainConfig, strategy, train_step, state,
                  real_images, first_step: int, last_checkpoint):
  """``train_step`` on the step's batch, with the errors a user can act on
  as one line: XLA refusing the step at its first call, another worker lost.
  """
  def call(step):
    try:
      return train_step(latents_lib.step_batch(config, state.step,
                                               real_images))
    except (tf.errors.InvalidArgumentError,
            tf.errors.UnimplementedError) as e:
      if not (config.runtime.jit_compile and step == first_step):
        raise
      # The first step compiles: what XLA refuses fails here.
      raise RunError(
          f"jit_compile: XLA could not compile the step on "
          f"{strategy.num_replicas_in_sync} replica(s) "
          f"({distribution.first_cause(e)}); drop --jit_compile") from None
    except distribution.PEER_ERRORS as e:
      if strategy.num_replicas_in_sync == 1 and config.runtime.strategy != (
          "multi_worker"):
        raise
      raise distribution.WorkerLost(
          f"step {step + 1} failed because another worker died or stopped "
          f"answering ({type(e).__name__}: {distribution.first_cause(e)}); "
          f"the last checkpoint is {last_checkpoint()}; restart every worker "
          "with the same command to resume") from None
  return call


def _search(config: TrainConfig, flags_text: str, hooks, strategy,
            chief: bool) -> dict:
  """``run`` once the inputs are checked and the workdir is locked."""
  reused = (workdir.prepare(config, flags_text) if chief else
            os.path.exists(workdir.config_path(config.workdir)))
  cache_dir = config.data.cache_dir or cache.default_dir()
  weights = state_lib.extractor_weights(config, cache_dir)
  state = state_lib.build_state(config, strategy, cache_dir, weights)
  counts = generators.prunable_parameter_count(state.generator)
  logging.info("generator %s %dpx: %s prunable parameters, mode=%s "
               "keep_ratio=%g mask_scope=%s; %d replica(s), global batch %d",
               config.model.arch, config.model.resolution, f"{counts['total']:,}",
               config.ticket.mode, config.ticket.keep_ratio,
               config.ticket.mask_scope, strategy.num_replicas_in_sync,
               config.optim.batch_size)
  manager, directory = _checkpoints(config, state, strategy, chief, reused)
  last_checkpoint = lambda: manager.latest_checkpoint
  writer = (tf.summary.create_file_writer(
      workdir.tensorboard_dir(config.workdir)) if chief
            else tf.summary.create_noop_writer())
  hooks = list(hooks) if chief else []
  for hook in hooks:
    hook.begin(state)
  step = int(state.step.numpy())
  if step >= config.optim.train_steps:
    logging.info("step %d >= train_steps %d: nothing to do", step,
                 config.optim.train_steps)
  train_step = _guarded_step(
      config, strategy, step_lib.train_step_fn(config, strategy, state), state,
      state.real_images if config.method_spec.adversarial else None, step,
      last_checkpoint)
  actions = [(config.runtime.log_every, _progress(config, writer, step))]
  if chief:
    actions.append((config.runtime.sample_every, _samples(config, state, writer)))
  actions += [(hook.every, lambda s, _, hook=hook: hook(s)) for hook in hooks]

  def save(at):
    logging.info("step %d: checkpoint %s", at,
                 manager.save(checkpoint_number=at))
  start_step, run_start, stop = step, time.time(), StopRequest()
  with stop.installed():
    step, metrics = run_steps(config, step, train_step, actions, stop, save,
                              last_checkpoint)
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
  fileio.write_json(workdir.result_path(config.workdir), result)
  return result


def _checkpoints(config: TrainConfig, state, strategy, chief: bool,
                 reused: bool):
  """The run's checkpoint manager, the state restored from the latest
  checkpoint; (manager, its directory)."""
  # Every worker saves (the save is collective); only the chief's copy is
  # the run's, the others write to a scratch directory.
  directory = workdir.checkpoint_dir(config.workdir)
  if not chief:
    resolver = strategy.cluster_resolver
    directory = os.path.join(
        config.workdir, f".scratch_{resolver.task_type}_{resolver.task_id}")
  manager = tf.train.CheckpointManager(state.checkpoint, directory,
                                       max_to_keep=config.runtime.keep_checkpoints)
  latest = workdir.restore_latest(state.checkpoint,
                                  workdir.checkpoint_dir(config.workdir))
  if latest:
    logging.info("resuming from %s at step %d", latest,
                 int(state.step.numpy()))
  elif reused:
    logging.info("workdir %s has no checkpoint; starting at step 0",
                 config.workdir)
  return manager, directory


def _progress(config: TrainConfig, writer, step: int):
  """The logging action: a console line and scalar summaries with the
  steps per second since the previous line."""
  schedule = state_lib.learning_rate(config)
  window = [time.time(), step]

  def log(at, metrics):
    now = time.time()
    rate = (at - window[1]) / max(now - window[0], 1e-9)
    window[:] = [now, at]
    lr = float(schedule(at - 1) if callable(schedule) else schedule)
    summaries.log_progress(config, writer, at, metrics, lr, rate)
  return log


def _samples(config: TrainConfig, state, writer):
  """The sample action: the grid of fixed latents, mask statistics and
  histograms."""
  grid_latents = inputs_lib.generator_input(latents_lib.fixed_latents(config))
  sample_fn = tf.function(lambda: tf.cast(
      state.generator(grid_latents, training=False), tf.float32))
  monitor = summaries.MaskMonitor(state.generator)
  if monitor.layers:
    monitor.measure()  # Baseline of the flip rate.

  def write(at, _):
    summaries.write_samples_and_masks(config, state, writer, at, sample_fn,
                                      monitor)
  return write
