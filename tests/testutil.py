"""Shared test helpers: a prepared embedded dataset and tiny search configs."""

import functools
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading

import numpy as np
import tensorflow as tf

from slt_tf.config import TrainConfig
from slt_tf.data import datasets
from slt_tf.data import local_tfds
from slt_tf import generators
from slt_tf.generators import TicketOptions
from slt_tf.resolve import resolve
from slt_tf.ticket import layers
from slt_tf import workdir as workdir_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strict_json(path: str):
  """The JSON file at ``path``, refusing NaN and Infinity (not JSON)."""
  def refuse(constant):
    raise ValueError(f"{path} holds {constant}, which is not JSON")
  with open(path) as f:
    return json.load(f, parse_constant=refuse)


@functools.lru_cache(maxsize=None)
def shared_dir(name: str) -> str:
  """A directory shared by the tests of this process (one per xdist worker)."""
  path = os.path.join(tempfile.gettempdir(),
                      f"slt_tf_tests_{os.getpid()}", name)
  os.makedirs(path, exist_ok=True)
  return path


@functools.lru_cache(maxsize=None)
def run_dir(name: str) -> str:
  """A directory shared by every process of this test run (all xdist
  workers: ``PYTEST_XDIST_TESTRUNUID``), for what the code under test
  prepares once under its own locks: the TFDS data and the cache of real
  statistics and trained classifiers."""
  run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid{os.getpid()}"
  path = os.path.join(tempfile.gettempdir(), f"slt_tf_tests_run_{run}", name)
  os.makedirs(path, exist_ok=True)
  return path


def cache_dir() -> str:
  """The run-wide ``--cache_dir`` of the tests (``run_dir``): each real
  statistic and classifier is computed once per test run."""
  return run_dir("cache")


@functools.lru_cache(maxsize=None)
def data_dir() -> str:
  """A TFDS data_dir holding the prepared embedded dataset (run-wide)."""
  path = run_dir("tfds")
  datasets.check(datasets.EMBEDDED, data_dir=path)
  return path


def tiny_config(workdir: str, **overrides) -> TrainConfig:
  """A search that runs in seconds: GFMN width 4, classifier features."""
  ticket = overrides.pop("ticket", TicketOptions(keep_ratio=0.1, seed=1))
  values = dict(workdir=workdir, arch="gfmn", resolution=32, width=4,
                grid_size=4, ticket=ticket, dataset=datasets.EMBEDDED,
                data_dir=data_dir(), features="classifier",
                max_real_images=256, cache_dir=cache_dir(),
                batch_size=8, train_steps=4, learning_rate=1e-3,
                checkpoint_every=2, log_every=2, sample_every=2,
                strategy="default")
  values.update(overrides)
  return resolve(TrainConfig.make(**values))


def run_python(*args, timeout=300, env=None, cwd=REPO, drop_env=()):
  """The one way tests start a subprocess: ``python args`` (a script, ``-m
  module ...`` or ``-c code ...``) with this interpreter, quiet TensorFlow
  logs and no GPU, in the repository; returns the completed process.

  Args:
    args: the interpreter's arguments.
    timeout: seconds before the test fails.
    env: variables added to the environment.
    cwd: the working directory.
    drop_env: variables removed from the environment.
  """
  full_env = {k: v for k, v in os.environ.items() if k not in drop_env}
  full_env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  full_env.update(env or {})
  return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env,
                        capture_output=True, text=True, timeout=timeout)


def entry_cases(module: str, cases, timeout=600):
  """Runs ``module``'s ``main`` on each argument list of ``cases`` in one
  subprocess (``tests/entry_cases.py``: the flags reset between cases);
  returns a list of {"status", "stderr", "traceback"} per case, in order.

  For refusals of bad flags, which happen before any work: one interpreter
  and one TensorFlow import for all of them.
  """
  result = run_python(os.path.join(REPO, "tests", "entry_cases.py"), module,
                      json.dumps([list(c) for c in cases]), timeout=timeout)
  lines = [json.loads(l) for l in result.stdout.splitlines()
           if l.startswith("{")]
  if result.returncode or len(lines) != len(cases):
    raise AssertionError(f"entry_cases {module} failed "
                         f"({result.returncode}):\n{result.stderr[-3000:]}")
  return lines


def write_idx(directory: str, counts=(30, 20), seed: int = 0) -> dict:
  """Fashion-MNIST's four IDX files (gzipped, as Debian ships them) in
  ``directory``, random images and labels; split -> (images (N, 28, 28),
  labels (N,))."""
  rng = np.random.default_rng(seed)
  os.makedirs(directory, exist_ok=True)
  written = {}
  for (split, (image_name, label_name)), n in zip(local_tfds.FILES.items(),
                                                  counts):
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    with gzip.open(os.path.join(directory, image_name), "wb") as f:
      f.write((2051).to_bytes(4, "big") + b"".join(
          v.to_bytes(4, "big") for v in (n, 28, 28)) + images.tobytes())
    with gzip.open(os.path.join(directory, label_name), "wb") as f:
      f.write((2049).to_bytes(4, "big") + n.to_bytes(4, "big")
              + labels.tobytes())
    written[split] = (images, labels)
  return written


def start_python(*args, env=None, cwd=REPO):
  """Starts ``python args`` as ``run_python`` would, without waiting;
  returns the ``Popen`` (text pipes for stdout and stderr)."""
  full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  full_env.update(env or {})
  return subprocess.Popen([sys.executable, *args], cwd=cwd, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def communicate_all(processes, timeout: float):
  """``communicate`` with every process at once; returns their (stdout,
  stderr) pairs in order.

  Processes that take turns under a lock must all be drained together: read
  one after the other, a later one can fill its pipe while it holds the lock,
  and then the first never finishes.
  """
  results = [None] * len(processes)
  errors = []

  def drain(i):
    try:
      results[i] = processes[i].communicate(timeout=timeout)
    except Exception as e:  # pylint: disable=broad-except
      processes[i].kill()
      errors.append(e)

  threads = [threading.Thread(target=drain, args=(i,))
             for i in range(len(processes))]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  if errors:
    raise errors[0]
  return results


def start_module(module: str, *args, env=None, cwd=REPO):
  """Starts ``python -m module args`` (``start_python``)."""
  return start_python("-m", module, *args, env=env, cwd=cwd)


def run_module(module: str, *args, **kwargs):
  """Runs ``python -m module args`` (``run_python``)."""
  return run_python("-m", module, *args, **kwargs)


def score_disagreement(workdir_a: str, workdir_b: str) -> float:
  """How far two searches' scores differ, relative to how far they moved.

  sum |a - b| / sum |a - initial| over every score of the two workdirs' latest
  checkpoints. Two replica splits of one search differ only by the order of
  float sums: Adam's first steps are about lr * sign(g), so entries whose
  gradient nearly cancels may flip, but in aggregate the ratio stays well
  below 1%. A search that is not the same (e.g. per-replica statistics) moves
  every score differently, by about as much as it moves at all.
  """
  config_a = workdir_lib.read_config(workdir_a)
  config_b = workdir_lib.read_config(workdir_b)
  scores = lambda g: {l.path: l.scores.numpy()
                      for l in layers.masked_layers(g) if l.scores is not None}
  initial = scores(generators.build(config_a.model.arch,
                                    **config_a.generator_kwargs()))
  a = scores(workdir_lib.restore_generator(config_a))
  b = scores(workdir_lib.restore_generator(config_b))
  assert set(a) == set(b) == set(initial) and a, (set(a), set(b))
  moved = sum(np.abs(a[k] - initial[k]).sum() for k in a)
  assert moved > 0, "the scores never moved"
  return sum(np.abs(a[k] - b[k]).sum() for k in a) / moved


def checkpoint_tensors(workdir):
  path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
  reader = tf.train.load_checkpoint(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if not name.startswith(("_CHECKPOINTABLE", "save_counter"))}


def masked_arrays(generator, attribute):
  """{layer path: array} of one variable of every masked layer."""
  return {l.path: getattr(l, attribute).numpy()
          for l in layers.masked_layers(generator)
          if getattr(l, attribute) is not None}
