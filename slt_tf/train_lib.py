"""The search with its evaluation: ``run(config)``, what ``python -m
slt_tf.train`` calls.

The search itself is ``slt_tf.search`` (state, step, loop); evaluation is
``slt_tf.evaluation``. This module is the one place that joins them: with
``config.eval.every`` the loop is handed the best-checkpoint keeper as a hook,
so neither layer imports the other.

One step samples the global batch of latents from ``(seed, step)``, splits it
over the replicas, generates, extracts features, computes the moment-matching
loss on the global batch moments (``slt_tf.search.losses``) and updates the scores
(ticket mode) or the weights (dense mode) with Adam. Every stateful tensor is
checkpointed, so a run killed and restarted in the same workdir continues
exactly where it stopped.
"""

import signal

from slt_tf.config import TrainConfig
from slt_tf.evaluation import best
from slt_tf.resolve import resolve
from slt_tf.search import loop


def hooks_for(config: TrainConfig) -> list:
  """The hooks a search with ``config`` runs: the best-checkpoint keeper
  when ``eval_every`` is set."""
  return [best.BestKeeper(config)] if config.eval.every else []


class Stopped(SystemExit):
  """A search that SIGTERM or SIGINT stopped (checkpointed, resumable).

  A plan of several runs (a study, the pilots, a sweep) must stop with it,
  not evaluate the half-done run, record it as finished and start the next.
  As a ``SystemExit`` it passes every ``except Exception`` and ends the
  process with status 128 + the signal's number, as a single search does.
  """

  def __init__(self, signal_name: str):
    super().__init__(128 + signal.Signals[signal_name].value)
    self.signal_name = signal_name


def run_to_end(config: TrainConfig, flags_text: str = "") -> dict:
  """``run`` that raises ``Stopped`` when a signal ended the search before
  ``config.optim.train_steps``: a plan of runs stops with it, a single search
  exits with its status."""
  result = run(config, flags_text)
  if result.get("stopped_by"):
    raise Stopped(result["stopped_by"])
  return result


def run(config: TrainConfig, flags_text: str = "") -> dict:
  """Runs (or resumes) the search configured by ``config``
  (``slt_tf.search.loop.run``), evaluating as ``config`` asks.

  Args:
    config: the run's configuration (``slt_tf.resolve`` fills in what it
      takes from its data).
    flags_text: the effective command-line flags, written next to the outputs.

  Returns:
    A summary: final step, last metrics, parameter counts, paths.

  Raises:
    slt_tf.errors.UserError: the run cannot start; the message names the flag
      or file.
  """
  config = resolve(config)
  return loop.run(config, flags_text, hooks_for(config))
