r"""Tuning pilots: the same settings for the ticket and its baselines, judged
on the selection split.

  python -m slt_tf.tune --flagfile=configs/tune_cpu.cfg [--shard=0/2]

Every search flag of ``slt_tf.train`` sets the shared configuration; each
pilot of the ``--pilots`` file (JSON, ``slt_tf.study.pilots``) replaces some of
it, for every method of ``--methods`` and every seed of ``--seeds`` (a pilot's
``only`` limits it to those methods). ``--pilot="NAME --flag=value ..."``
(repeatable) adds one pilot written on the command line. Runs go to
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
from slt_tf.study import cli
from slt_tf.study import pilots
from slt_tf.study import plan as plan_lib
from slt_tf.study import report

# The search's flags (listed in --helpshort); this front end's follow.
config_flags.define()
flags.adopt_module_key_flags(config_flags)

_TUNE_DIR = flags.DEFINE_string("tune_dir", "workdirs/tune",
                                "Directory of the pilots' runs.")
_PILOTS_FILE = flags.DEFINE_string(
    "pilots", None, "The pilots: a JSON file {\"pilots\": [{\"name\": ..., "
    "\"flags\": {...}, \"only\": [...]}, ...]} (slt_tf.study.pilots).")
_PILOTS = flags.DEFINE_multi_string(
    "pilot", [], "A pilot written here: 'NAME --flag=value ...' (repeatable; "
    "after the file's); '--only=m1,m2' limits its methods. Without --pilots "
    "and --pilot: one pilot, 'shared'.")
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


def _plan():
  """(shared configuration, every pilot run, this shard's runs, the shard
  as (index, count)).

  Raises:
    ValueError: starting with the flag at fault.
  """
  chosen = (pilots.load_pilots(_PILOTS_FILE.value) if _PILOTS_FILE.value
            else [])
  chosen += [pilots.parse_pilot(text) for text in _PILOTS.value]
  if not chosen:
    chosen = [pilots.parse_pilot("shared")]
  names = [p.name for p in chosen]
  if len(set(names)) != len(names):
    raise ValueError(f"pilot names must differ, got {names}")
  for name in _METHODS.value:
    if name not in ("ticket", "dense", "adversarial_ticket"):
      raise ValueError("methods must be among ticket, dense, "
                       f"adversarial_ticket (methods that learn), got {name!r}")
  seeds = cli.integers(_SEEDS)
  if not seeds:
    raise ValueError("seeds is empty")
  index, count = plan_lib.parse_shard(_SHARD.value)
  if _BN_BATCHES.value < 1:
    raise ValueError(f"tune_bn_batches must be >= 1, got {_BN_BATCHES.value}")
  base = cli.base_config(_TUNE_DIR.value)
  for pilot in chosen:  # Every pilot's configuration, before any run.
    pilots.pilot_config(pilot)
  runs = pilots.tuning_runs(chosen, _METHODS.value, _TUNE_KEEP_RATIO.value,
                            seeds, os.path.join(_TUNE_DIR.value, "runs"),
                            _EVAL_SEED.value, _BN_BATCHES.value)
  return base, runs, plan_lib.shard(runs, index, count), (index, count)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  with errors.exit_on_error(flagged=(ValueError,)):
    base, runs, mine, (index, count) = _plan()
  cli.record_flags(_TUNE_DIR.value, f"flags.{index}of{count}.txt")
  os.makedirs(os.path.join(_TUNE_DIR.value, "runs"), exist_ok=True)
  command = cli.command("slt_tf.tune")
  write = lambda rows: report.write_pilots_table(rows, _RESULTS_MD.value,
                                                 command, base)
  with errors.exit_on_error(plain=(FloatingPointError,)):
    write(cli.execute(runs, mine, _RESULTS_JSON.value, pilots.row_key,
                      drop_others=False, then=write, kind="tuning"))
  print(open(_RESULTS_MD.value).read())


if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
