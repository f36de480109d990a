r"""Kills a short search (and an export) at random moments, restarts it, and
checks that nothing was torn and that the result is bit-identical.

  python bench/kill_harness.py --trials=100 [--seed=0] [--steps=40]

One uninterrupted search is the reference. The same search in another workdir
is then started and SIGKILLed after a random delay, ``--trials`` times, each
restart resuming the last; the delays span a run's whole life (imports,
tracing, steps, checkpoint, summary and sample-grid writes). After every kill
each file of the workdir must be complete: JSON files parse, PNGs decode, the
newest checkpoint restores. Whenever the restarts reach the last step, every
variable of the last checkpoint must equal the reference's bit for bit, and a
new round starts in a fresh workdir (so no trial is spent on a finished run). The
export is killed the same way: no version directory that TF Serving would load
may be half-written, and the versions exported before stay loadable.

Prints one JSON line: trials, kills by phase, steps reached, outcome.
``tests/e2e/test_kill_harness.py`` runs a few trials; BENCHMARKS.md records a
long run.
"""

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import slt_tf  # pylint: disable=unused-import  (oneDNN before TensorFlow)

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def search_command(workdir: str, steps: int, cache_dir, data_dir) -> list:
  command = [sys.executable, "-m", "slt_tf.train",
             "--flagfile=configs/demo.cfg", f"--workdir={workdir}",
             "--width=4", "--grid_size=4", "--max_real_images=256",
             "--batch_size=8", f"--train_steps={steps}", "--log_every=1",
             "--sample_every=3", "--checkpoint_every=2", "--keep_checkpoints=2",
             "--eval_every=0"]
  if cache_dir:
    command.append(f"--cache_dir={cache_dir}")
  if data_dir:
    command.append(f"--data_dir={data_dir}")
  return command


def _env():
  return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")


def run(command: list, timeout: float = 600) -> None:
  result = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)
  if result.returncode:
    raise RuntimeError(f"{command[2]} failed: {result.stderr[-2000:]}")


def kill_after(command: list, delay: float) -> str:
  """Starts ``command``, SIGKILLs it after ``delay`` s; what it was doing."""
  process = subprocess.Popen(command, cwd=REPO, env=_env(),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
  time.sleep(delay)
  if process.poll() is not None:
    process.stderr.read()
    return "finished"
  process.send_signal(signal.SIGKILL)
  _, err = process.communicate()
  if "step " not in err:
    return "starting (imports, data, tracing)"
  return "stepping"


def checkpoint_values(workdir: str) -> dict:
  path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
  reader = tf.train.load_checkpoint(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if not name.startswith(("_CHECKPOINTABLE", "save_counter"))}


def torn_files(workdir: str) -> list:
  """Files of ``workdir`` that are not complete, with why."""
  torn = []
  for root, _, names in os.walk(workdir):
    for name in names:
      path = os.path.join(root, name)
      try:
        if name.endswith(".json"):
          with open(path) as f:
            json.load(f)
        elif name.endswith(".png"):
          with open(path, "rb") as f:
            tf.io.decode_png(f.read())
      except Exception as e:  # pylint: disable=broad-except
        torn.append(f"{path}: {e}")
  if tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")):
    try:
      checkpoint_values(workdir)
    except Exception as e:  # pylint: disable=broad-except
      torn.append(f"newest checkpoint: {e}")
  return torn


def step_of(workdir: str) -> int:
  path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
  return int(path.rsplit("-", 1)[1]) if path else 0


def search_trials(base: str, trials: int, seed: int, steps: int, cache_dir,
                  data_dir) -> dict:
  """The search half of the harness (module doc).

  The killed search runs in rounds: when a restart has reached the last step,
  its checkpoint is compared with the reference and the next round starts in
  a fresh workdir, so that every trial kills a run with work left to do.
  """
  rng = random.Random(seed)
  reference = os.path.join(base, "reference")
  start = time.time()
  run(search_command(reference, steps, cache_dir, data_dir))
  span = time.time() - start  # A whole run's life, imports included.
  expected = checkpoint_values(reference)
  phases, reached, torn, differ, rounds = {}, [], [], set(), 0

  def check_round(workdir):
    final = checkpoint_values(workdir)
    differ.update(name for name in expected if name not in final
                  or not np.array_equal(expected[name], final[name]))

  workdir = os.path.join(base, "killed_0")
  for _ in range(trials):
    command = search_command(workdir, steps, cache_dir, data_dir)
    phase = kill_after(command, rng.uniform(0.0, span))
    phases[phase] = phases.get(phase, 0) + 1
    reached.append(step_of(workdir))
    torn += torn_files(workdir)
    if reached[-1] == steps:
      check_round(workdir)
      rounds += 1
      workdir = os.path.join(base, f"killed_{rounds}")
  run(search_command(workdir, steps, cache_dir, data_dir))
  check_round(workdir)
  return {"trials": trials, "kills_by_phase": phases,
          "steps_reached": reached, "rounds_completed": rounds + 1,
          "torn_files": torn, "final_step": step_of(workdir),
          "variables_differing": sorted(differ), "variables": len(expected)}


def export_trials(base: str, trials: int, seed: int) -> dict:
  """Kills ``python -m slt_tf.export`` of the reference search mid-way."""
  rng = random.Random(seed + 1)
  models = os.path.join(base, "models")
  command = [sys.executable, "-m", "slt_tf.export",
             f"--workdir={os.path.join(base, 'reference')}",
             f"--export_dir={models}", "--model_name=m"]
  start = time.time()
  run(command)
  span = time.time() - start
  problems = []
  for _ in range(trials):
    kill_after(command, rng.uniform(0.0, span))
    model_dir = os.path.join(models, "m")
    for name in os.listdir(model_dir):
      if not name.isdigit():
        continue  # TF Serving loads numeric version directories only.
      try:
        tf.saved_model.load(os.path.join(model_dir, name)).signatures[
            "serving_default"]
      except Exception as e:  # pylint: disable=broad-except
        problems.append(f"version {name}: {e}")
  versions = sorted(n for n in os.listdir(os.path.join(models, "m"))
                    if n.isdigit())
  return {"export_trials": trials, "versions": versions,
          "unloadable_versions": problems}


def harness(trials: int, export: int, seed: int, steps: int, cache_dir=None,
            data_dir=None) -> dict:
  with tempfile.TemporaryDirectory() as base:
    report = search_trials(base, trials, seed, steps, cache_dir, data_dir)
    report.update(export_trials(base, export, seed))
  report["ok"] = (not report["torn_files"] and not report["variables_differing"]
                  and report["final_step"] == steps
                  and not report["unloadable_versions"])
  return report


def main(argv):
  del argv
  sys.path.insert(0, os.path.join(REPO, "bench"))
  import timing  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  report = harness(f.trials, f.export_trials, f.seed, f.steps, f.cache_dir,
                   f.data_dir)
  print(json.dumps({"bench": "kill_harness", "steps": f.steps,
                    "seed": f.seed, **report, **timing.machine()}))
  sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
  # Defined here, not on import: the test imports this module into a process
  # whose other modules have flags of the same names.
  flags.DEFINE_integer("trials", 20, "Kills of the search.")
  flags.DEFINE_integer("export_trials", 5, "Kills of export.")
  flags.DEFINE_integer("seed", 0, "Seed of the kill delays.")
  flags.DEFINE_integer("steps", 40, "Search steps.")
  flags.DEFINE_string("cache_dir", None, "Cache of the search.")
  flags.DEFINE_string("data_dir", None, "TFDS data directory.")
  app.run(main)
