"""Distribution strategies of the search, and what a lost worker looks like."""

import os
from typing import List

import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.errors import RunError


class WorkerLost(RuntimeError):
  """Another worker of a multi-worker run died or stopped answering."""


# Raised by collective ops when a peer dies (Unavailable, Aborted, Cancelled)
# or exceeds --collective_timeout_s (DeadlineExceeded).
PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.AbortedError,
               tf.errors.CancelledError, tf.errors.DeadlineExceededError)


def make_strategy(config: TrainConfig) -> tf.distribute.Strategy:
  """The distribution strategy the config asks for (see ``TrainConfig``)."""
  gpus = tf.config.list_physical_devices("GPU")
  name = config.runtime.strategy
  if name == "auto":
    name = "mirrored" if len(gpus) > 1 else "default"
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "multi_worker":
    if "TF_CONFIG" not in os.environ:
      raise RunError("strategy: 'multi_worker' needs the TF_CONFIG "
                     "environment variable describing the cluster")
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=config.runtime.collective_timeout_s or None)
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=options)
  if gpus or config.runtime.cpu_replicas == 1:
    return mirrored_strategy(None)
  return mirrored_strategy(tuple(_logical_cpus(config.runtime.cpu_replicas)))


_MIRRORED = {}


def check_jit_compile(config: TrainConfig, strategy) -> None:
  """Refuses ``jit_compile`` where TensorFlow cannot compile the step.

  One device compiles the whole step. Several replicas compile each
  replica's part (as Keras's ``jit_compile`` does); that needs one XLA device
  per replica, which logical CPU devices (``cpu_replicas``) are not: they
  share the host's, and the compiled part of replica 2 cannot reach its
  variables (measured, TensorFlow 2.21). Multi-worker runs are refused too:
  compiling the cross-host sums has never been tried here.

  Raises:
    RunError: naming ``jit_compile`` and the configuration.
  """
  if not config.runtime.jit_compile or strategy.num_replicas_in_sync == 1:
    return
  if config.runtime.strategy == "multi_worker":
    raise RunError("jit_compile: not supported with strategy 'multi_worker' "
                   "(XLA across hosts is untested); drop --jit_compile")
  devices = getattr(strategy.extended, "worker_devices", ())
  if any("CPU" in d.upper() for d in devices):
    raise RunError(
        f"jit_compile: XLA cannot compile a step split over "
        f"{strategy.num_replicas_in_sync} logical CPU devices (cpu_replicas: "
        "they share one XLA device); use one replica or drop --jit_compile")


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


def first_cause(error: Exception) -> str:
  """The informative line of a TensorFlow runtime error (for one-line errors)."""
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  keys = ("aborted by", "heartbeat", "timed out", "deadline", "connection",
          "unavailable", "failed to connect")
  telling = [l for l in lines if any(k in l.lower() for k in keys)]
  return (telling or lines or [""])[0][:200]
