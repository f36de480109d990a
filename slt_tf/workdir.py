"""A run's directory: its layout, its configuration, and restoring from it.

``WORKDIR/config.json`` and ``flags.txt`` (the effective configuration and
flags), ``checkpoints/`` (``tf.train.CheckpointManager``), ``best/`` (the best
checkpoint on the selection split, with ``best.json``), ``eval/``,
``samples/``, ``tensorboard/``, ``result.json``, and ``.lock``: whoever
writes into a workdir (a search, an evaluation of its checkpoints) holds
``WorkdirLock`` on it, so that two writers never share one.
"""

import fcntl
import json
import os
import socket
import time
from typing import Optional

from absl import logging
import keras
import tensorflow as tf

from slt_tf import config as config_lib
from slt_tf.config import TrainConfig
from slt_tf.errors import RunError
from slt_tf import fileio
from slt_tf import generators

BEST = "best"  # The best checkpoint on the selection split, with best.json.


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(workdir, "checkpoints")


def config_path(workdir: str) -> str:
  return os.path.join(workdir, "config.json")


def best_record_path(workdir: str) -> str:
  """``best/best.json``: which checkpoint in ``best/`` is the best so far."""
  return os.path.join(workdir, BEST, "best.json")


def tensorboard_dir(workdir: str, run: str = "search") -> str:
  """``WORKDIR/tensorboard/<run>``: the search's summaries (run ``search``);
  evaluations write runs named by their split's role (``report``,
  ``selection``, ...)."""
  return os.path.join(workdir, "tensorboard", run)


def search_events_dir(workdir: str) -> str:
  """Where the search's event files are: ``tensorboard/search``, or the
  ``tensorboard`` directory itself for a run made before runs were named."""
  named = tensorboard_dir(workdir)
  return named if os.path.isdir(named) else os.path.join(workdir,
                                                         "tensorboard")


def result_path(workdir: str) -> str:
  """The search's summary of its last run (final step, metrics, paths)."""
  return os.path.join(workdir, "result.json")


def prepare(config: TrainConfig, flags_text: str) -> bool:
  """Checks a reused workdir, writes config.json and flags.txt; True if reused.

  Raises:
    RunError: naming ``workdir``, when it holds another run's configuration,
      an unreadable one, or cannot be written.
  """
  path = config_path(config.workdir)
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
  try:
    os.makedirs(config.workdir, exist_ok=True)
    fileio.write_atomic(path, config.to_json().encode())
    if flags_text:
      fileio.write_atomic(os.path.join(config.workdir, "flags.txt"),
                          flags_text.encode())
  except OSError as e:
    raise RunError(f"workdir: cannot write to {config.workdir} "
                   f"({e.strerror or e}); choose a writable --workdir") from None
  return reused


def read_config(workdir: str, flag: str = "workdir") -> TrainConfig:
  """The ``TrainConfig`` a run wrote to its workdir.

  Raises:
    RunError: naming ``flag`` and the workdir, when it has no readable
      ``config.json``.
  """
  path = config_path(workdir)
  try:
    with open(path) as f:
      return TrainConfig.from_json(f.read())
  except FileNotFoundError:
    raise RunError(f"{flag}: {path} does not exist") from None
  except (OSError, ValueError, TypeError) as e:
    raise RunError(f"{flag}: {path} is unreadable ({e})") from None


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


def restore_generator(config: TrainConfig, checkpoint: Optional[str] = None
                      ) -> keras.Model:
  """The generator of a run, with a checkpoint's scores and statistics.

  Args:
    config: the run's configuration (``config.json`` of its workdir).
    checkpoint: a checkpoint prefix; default: the latest in the workdir.

  Raises:
    RunError: the workdir has no checkpoint, or it cannot be read.
  """
  path = checkpoint or resolve_checkpoint(config.workdir, None)
  generator = generators.build(config.model.arch, **config.generator_kwargs())
  try:
    tf.train.Checkpoint(generator=generator).restore(path).expect_partial()
  except (IndexError, ValueError, tf.errors.OpError) as e:
    # A file cut short or overwritten: say which, not a reader's traceback.
    raise RunError(f"checkpoint: {path} cannot be read ({type(e).__name__}: "
                   f"{str(e).splitlines()[0][:200]}); it is truncated or "
                   "corrupted: pass --checkpoint=PATH of another one (or "
                   "rerun the search, which resumes from the newest readable "
                   "checkpoint)") from None
  return generator


def resolve_checkpoint(workdir: str, checkpoint: Optional[str]) -> str:
  """A checkpoint prefix from "latest" (or None), "best", or a path."""
  if checkpoint in (None, "", "latest"):
    path = tf.train.latest_checkpoint(checkpoint_dir(workdir))
    if not path:
      raise RunError(f"workdir: no checkpoint in {checkpoint_dir(workdir)}")
    return path
  if checkpoint == BEST:
    best = best_record_path(workdir)
    if not os.path.exists(best):
      raise RunError(f"checkpoint: {best} does not exist (the search keeps "
                     "a best checkpoint only with --eval_every)")
    with open(best) as f:
      return os.path.join(workdir, BEST, json.load(f)["checkpoint"])
  if not tf.io.gfile.exists(checkpoint + ".index"):
    raise RunError(f"checkpoint: {checkpoint} is not a checkpoint "
                   "prefix (no .index file)")
  return checkpoint


def default_checkpoint(workdir: str, checkpoint: Optional[str]) -> str:
  """``checkpoint`` as given, else the run's kept checkpoint: "best" when the
  search kept one (``--eval_every``), "latest" otherwise; what ``evaluate``
  and ``export`` take when ``--checkpoint`` is not given. The choice is
  logged in one line, naming the flag for the other."""
  if checkpoint:
    return checkpoint
  record = best_record_path(workdir)
  if os.path.exists(record):
    with open(record) as f:
      kept = json.load(f)
    logging.warning("checkpoint: the best one the search kept (%s, step %s, "
                    "%s %.4g on %s); --checkpoint=latest for the last",
                    kept["checkpoint"], kept["step"], kept["metric"],
                    kept["value"], kept["split"])
    return BEST
  return "latest"


def checkpoint_step(path: str) -> int:
  """The step a checkpoint was saved at (read from the checkpoint itself)."""
  return int(tf.train.load_checkpoint(path).get_tensor(
      "step/.ATTRIBUTES/VARIABLE_VALUE"))


LOCK = ".lock"


class WorkdirLock:
  """An exclusive lock on a workdir: one writer at a time.

  An OS-level ``flock`` on ``WORKDIR/.lock``, which the kernel drops when its
  process ends however it ends, so a killed run never leaves a stale lock.
  The file names the holder (pid, host, what it runs, since when) for the
  message a second writer gets. Use as a context manager.
  """

  def __init__(self, workdir: str, purpose: str):
    self.workdir, self.purpose = workdir, purpose
    self.path = os.path.join(workdir, LOCK)
    self._fd = None

  def __enter__(self) -> "WorkdirLock":
    try:
      os.makedirs(self.workdir, exist_ok=True)
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
      raise RunError(f"workdir: cannot write to {self.workdir} "
                     f"({e.strerror or e}); choose a writable --workdir"
                     ) from None
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      holder = _read_holder(fd)
      os.close(fd)
      raise RunError(
          f"workdir: {self.workdir} is in use by pid {holder.get('pid', '?')} "
          f"on {holder.get('host', '?')} ({holder.get('purpose', 'a writer')}"
          f" since {holder.get('since', '?')}); wait for it to end or stop "
          "it, or use another --workdir") from None
    record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                         "purpose": self.purpose,
                         "since": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                time.gmtime())}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, record, 0)
    self._fd = fd
    return self

  def __exit__(self, *exc) -> None:
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None


def _read_holder(fd: int) -> dict:
  try:
    return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
  except (OSError, ValueError):
    return {}  # Written a moment after the lock: not there yet.
