"""Shared test helpers: a prepared embedded dataset and tiny search configs."""

import functools
import os
import subprocess
import sys
import tempfile

from slt_tf import data
from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=None)
def shared_dir(name: str) -> str:
  """A directory shared by the tests of this process (one per xdist worker)."""
  path = os.path.join(tempfile.gettempdir(),
                      f"slt_tf_tests_{os.getpid()}", name)
  os.makedirs(path, exist_ok=True)
  return path


@functools.lru_cache(maxsize=None)
def data_dir() -> str:
  """A TFDS data_dir holding the prepared embedded dataset."""
  path = shared_dir("tfds")
  data.check(data.EMBEDDED, data_dir=path)
  return path


def tiny_config(workdir: str, **overrides) -> TrainConfig:
  """A search that runs in seconds: GFMN width 4, classifier features."""
  ticket = overrides.pop("ticket", TicketOptions(keep_ratio=0.1, seed=1))
  values = dict(workdir=workdir, arch="gfmn", resolution=32, width=4,
                num_samples=4, ticket=ticket, dataset=data.EMBEDDED,
                data_dir=data_dir(), features="classifier",
                max_real_images=256, cache_dir=shared_dir("cache"),
                batch_size=8, train_steps=4, learning_rate=1e-3,
                checkpoint_every=2, log_every=2, sample_every=2,
                strategy="default")
  values.update(overrides)
  return TrainConfig(**values)


def run_module(module: str, *args, timeout=300, env=None):
  """Runs ``python -m module args`` in the repository; returns the result."""
  full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
  full_env.update(env or {})
  return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                        env=full_env, capture_output=True, text=True,
                        timeout=timeout)
