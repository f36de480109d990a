r"""How much a run's FID moves with what the measurement draws, not the run.

  python bench/fid_noise.py --workdir=RUN [--workdir=RUN2 ...] [--seeds=5] \
      [--eval_samples=500] [--bn_batches=20] [--checkpoint=best]

For each run's checkpoint (the latest, or the best on the selection split), the FID on both held-out splits (the selection
and the report split: two disjoint sets of real images) with ``--seeds``
different sets of evaluation latents. Prints one JSON line per run: the FIDs,
the standard deviation over latent seeds within each split (the generated
samples' part of the noise) and the difference between the splits' means (the
real images' part), with the machine. A gap between two methods smaller than
these is not a result at that N.
"""

# First, before TensorFlow loads: importing slt_tf turns oneDNN on.
import slt_tf  # pylint: disable=unused-import

import json

from absl import app
from absl import flags
import numpy as np

from slt_tf.data import datasets
from slt_tf.evaluation import evaluator as evaluator_lib
from slt_tf.eval_settings import EvalSettings
from slt_tf import runtime
from slt_tf import workdir as workdir_lib

_WORKDIRS = flags.DEFINE_multi_string("workdir", None, "Runs to measure.")
_SEEDS = flags.DEFINE_integer("seeds", 5, "Evaluation latent seeds per split.")
_N = flags.DEFINE_integer("eval_samples", 500, "N (capped at the split).")
_BN = flags.DEFINE_integer("bn_batches", 0, "Batch-norm re-estimation batches.")
_CHECKPOINT = flags.DEFINE_string(
    "checkpoint", "latest", "'latest', 'best' (kept by --eval_every during "
    "the search) or a checkpoint prefix: the one the study reports.")


def measure(workdir: str, seeds: int, n: int, bn_batches: int,
            checkpoint: str = "latest") -> dict:
  """FIDs of one checkpoint of the run per split and latent seed."""
  config = workdir_lib.read_config(workdir)
  path = workdir_lib.resolve_checkpoint(workdir, checkpoint)
  generator = workdir_lib.restore_generator(config, path)
  splits = datasets.held_out_splits(config.data.dataset, config.data.data_dir,
                                    config.data.holdout)
  result = {"workdir": workdir, "checkpoint": path, "n": None,
            "bn_batches": bn_batches}
  for role, split in (("selection", splits.selection),
                      ("report", splits.report)):
    fids = []
    for seed in range(seeds):
      evaluator = evaluator_lib.Evaluator(
          config, split, EvalSettings(n, seed=seed, bn_batches=bn_batches),
          config.data.cache_dir)
      name = evaluator_lib.metric_name("fid", evaluator.backbone.name,
                                       evaluator.n)
      fids.append(evaluator.evaluate(generator)[name])
      result["n"] = evaluator.n
    result[role] = {"split": split, "fids": fids,
                    "mean": float(np.mean(fids)),
                    "std_over_latent_seeds": float(np.std(fids, ddof=1))}
  result["report_minus_selection"] = (result["report"]["mean"]
                                      - result["selection"]["mean"])
  return result


def main(argv):
  del argv
  if not _WORKDIRS.value:
    raise app.UsageError("--workdir is required")
  machine = runtime.describe()
  for workdir in _WORKDIRS.value:
    row = measure(workdir, _SEEDS.value, _N.value, _BN.value,
                  _CHECKPOINT.value)
    print(json.dumps({**row, "machine": machine}), flush=True)


if __name__ == "__main__":
  app.run(main)
