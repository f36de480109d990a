r"""Soak: a long demo search with evaluation and checkpoints, watching memory.

  python bench/soak.py --train_steps=3000 [--width=8]

Runs the demo search (configs/demo.cfg values, embedded digits) in-process with
--eval_every and --checkpoint_every, sampling this process's resident memory
(RSS) every --sample_s seconds in a background thread, and prints one JSON line:
RSS once 20% of the run has passed (everything built, traced and cached), the
median over its last 10%, their difference, the peak, and the steps/s.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import json
import tempfile
import threading
import time

from absl import app
from absl import flags
import psutil

from slt_tf.config import TrainConfig
from slt_tf.generators import TicketOptions
from slt_tf import train_lib
import timing

_STEPS = flags.DEFINE_integer("train_steps", 3000, "Search steps.")
_WIDTH = flags.DEFINE_integer("width", 8, "GFMN width.")
_EVAL_EVERY = flags.DEFINE_integer("eval_every", 250, "Steps between evals.")
_CHECKPOINT_EVERY = flags.DEFINE_integer("checkpoint_every", 100,
                                         "Steps between checkpoints.")
_SAMPLE_S = flags.DEFINE_float("sample_s", 1.0, "Seconds between RSS samples.")


def main(argv):
  del argv
  process = psutil.Process()
  samples, done = [], threading.Event()

  def sample():
    while not done.is_set():
      samples.append((time.time(), process.memory_info().rss))
      done.wait(_SAMPLE_S.value)

  with tempfile.TemporaryDirectory() as workdir:
    config = TrainConfig.make(
        workdir=workdir, arch="gfmn", resolution=32, width=_WIDTH.value,
        ticket=TicketOptions(keep_ratio=0.1), dataset="mnist_embedded",
        features="classifier", batch_size=64, train_steps=_STEPS.value,
        learning_rate=2e-4, checkpoint_every=_CHECKPOINT_EVERY.value,
        log_every=100, sample_every=250, eval_every=_EVAL_EVERY.value,
        eval_samples=500, strategy="default")
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.time()
    result = train_lib.run(config)
    seconds = time.time() - start
    done.set()
    thread.join()
  # The first 20% of the run builds, traces and fills caches; memory after that
  # should stay flat.
  settled = [r for t, r in samples if t >= start + 0.2 * seconds]
  tail = [r for t, r in samples if t >= start + 0.9 * seconds]
  print(json.dumps({
      "train_steps": _STEPS.value, "eval_every": _EVAL_EVERY.value,
      "checkpoint_every": _CHECKPOINT_EVERY.value, "seconds": round(seconds),
      "rss_at_20pct_mb": round(settled[0] / 2**20, 1),
      "rss_last_10pct_median_mb": round(sorted(tail)[len(tail) // 2] / 2**20,
                                        1),
      "rss_growth_mb": round((sorted(tail)[len(tail) // 2] - settled[0])
                             / 2**20, 1),
      "rss_max_after_20pct_mb": round(max(settled) / 2**20, 1),
      "rss_peak_mb": round(max(r for _, r in samples) / 2**20, 1),
      "rss_by_tenth_of_run_mb": [
          round(min((r for t, r in samples
                     if t >= start + f / 10 * seconds), default=0) / 2**20, 1)
          for f in range(1, 10)],
      "steps_per_s": round(result["steps_this_run"] / seconds, 2),
      "final_step": result["step"], **timing.machine()}))

if __name__ == "__main__":
  app.run(main)
