r"""Tuning pilots: the same settings for the ticket and its baselines, judged
on the selection split.

  python -m slt_tf.tune --flagfile=configs/tune_cpu.cfg [--shard=0/2]

Every search flag of ``slt_tf.train`` sets the shared configuration; each
``--pilot="NAME --flag=value ..."`` (repeatable) replaces some of it, for every
method of ``--methods`` and every seed of ``--seeds`` (``--only=ticket`` inside
a pilot limits it to those methods). Runs go to
``--tune_dir/runs/<pilot>/<method>_k<keep>_s<seed>`` and resume, so rerunning
the command continues where it stopped. Each finished run is evaluated on the
selection split (never the report split) at its last and its best checkpoint,
each with and without re-estimated batch-norm statistics
(``slt_tf.study.tuning``), and its rows are merged into ``--results_json``;
``--results_md`` gets the table. Several processes can share the plan with
``--shard=I/N`` (on 2 cores, ``taskset -c I`` each: about 15% more runs per
hour than one process on both cores; BENCHMARKS.md).
"""

import os
import sys

from absl import app
from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf import fileio
from slt_tf.study import plan as plan_lib
from slt_tf.study import tuning

# The search's flags (listed in --helpshort); this front end's follow.
config_flags.define()
flags.adopt_module_key_flags(config_flags)

_TUNE_DIR = flags.DEFINE_string("tune_dir", "workdirs/tune",
                                "Directory of the pilots' runs.")
_PILOTS = flags.DEFINE_multi_string(
    "pilot", ["shared"], "A pilot: 'NAME --flag=value ...' (repeatable); "
    "its flags replace the shared ones; '--only=m1,m2' limits its methods.")
_METHODS = flags.DEFINE_list("methods", ["ticket", "dense"],
                             "Methods every pilot runs for.")
_TUNE_KEEP_RATIO = flags.DEFINE_float(
    "tune_keep_ratio", 0.1, "Keep ratio of the masked methods' pilots.")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1"], "Seeds of every pilot.")
_EVAL_SEED = flags.DEFINE_integer(
    "tune_eval_seed", 1, "Seed of the pilots' evaluation latents (the best "
    "checkpoint was chosen with seed 0's).")
_BN_BATCHES = flags.DEFINE_integer(
    "tune_bn_batches", 20, "Latent batches of the re-estimated batch-norm "
    "variants.")
_SHARD = flags.DEFINE_string("shard", "0/1", "I/N: run every N-th run of the "
                             "plan from the I-th.")
_RESULTS_JSON = flags.DEFINE_string("results_json", "results/tuning.json",
                                    "The rows (shared by the shards).")
_RESULTS_MD = flags.DEFINE_string("results_md", "results/tuning.md",
                                  "The pilots' table (Markdown).")


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if flags.FLAGS.workdir is None:
    flags.FLAGS.workdir = _TUNE_DIR.value  # Replaced per run.
  try:
    pilots = [tuning.parse_pilot(text) for text in _PILOTS.value]
    names = [p.name for p in pilots]
    if len(set(names)) != len(names):
      raise ValueError(f"pilot names must differ, got {names}")
    for name in _METHODS.value:
      if name not in ("ticket", "dense", "adversarial_ticket"):
        raise ValueError("methods must be among ticket, dense, "
                         f"adversarial_ticket (methods that learn), got "
                         f"{name!r}")
    try:
      seeds = [int(s) for s in _SEEDS.value]
    except ValueError:
      raise ValueError(f"seeds must be integers, got {_SEEDS.value}") from None
    index, count = plan_lib.parse_shard(_SHARD.value)
    if not seeds:
      raise ValueError("seeds is empty")
    if _BN_BATCHES.value < 1:
      raise ValueError(f"tune_bn_batches must be >= 1, got "
                       f"{_BN_BATCHES.value}")
    base = config_flags.config()
    if base.method != "ticket":
      raise ValueError("method: the plan sets each run's method; leave "
                       "--method unset")
    for pilot in pilots:  # Every pilot's configuration, before any run.
      tuning.pilot_config(pilot)
    plan = tuning.tuning_plan(pilots, _METHODS.value, _TUNE_KEEP_RATIO.value,
                              seeds)
    mine = plan_lib.shard(plan, index, count)
  except ValueError as e:
    sys.exit(f"error: --{e}")
  runs_dir = os.path.join(_TUNE_DIR.value, "runs")
  os.makedirs(runs_dir, exist_ok=True)
  fileio.write_atomic(os.path.join(_TUNE_DIR.value, f"flags.{index}of{count}"
                                   ".txt"),
                      flags.FLAGS.flags_into_string().encode())
  # The whole tuning's command: a shard's --shard is not part of it.
  command = " ".join(["python -m slt_tf.tune"] + [
      a for a in sys.argv[1:] if not a.startswith("--shard")])
  write = lambda rows: tuning.write_table(rows, _RESULTS_MD.value, command,
                                          base)
  with errors.exit_on_error(plain=(FloatingPointError,)):
    write(tuning.run_tuning(mine, runs_dir, _RESULTS_JSON.value,
                            _EVAL_SEED.value, _BN_BATCHES.value,
                            after_each=write))
  print(open(_RESULTS_MD.value).read())


if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
