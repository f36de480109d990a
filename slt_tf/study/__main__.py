r"""The reproduction study: the ticket search against its baselines, several
seeds, evaluated on a split no search saw, written up as results and a report.

  python -m slt_tf.study --flagfile=configs/study_cpu.cfg

Every search flag of ``slt_tf.train`` applies to every run (the flagfile holds
the shared budget). Runs go to ``--study_dir/runs/<method>_k<keep>_s<seed>``
and resume, so rerunning the command after an interruption continues where it
stopped. Outputs, rewritten after every run:

* ``--results_json`` (``results/cpu_reproduction.json``): one row per run,
  {method, keep_ratio, seed, fid, precision, recall, density, coverage, kid,
  steps, backbone, n, split, run, checkpoint, bn_batches, config, flags};
  ``config`` is the run's ``TrainConfig.outcome()``, and a setting whose row
  is stored with the same configuration is not run again (also in a checkout
  without the runs).
* ``--results_md`` (``RESULTS.md``): the mean ± std table, the targets, sample
  grids, the FID-vs-keep-ratio plot and the loss curves (figures in
  ``--results_dir``). Text between ``<!-- BEGIN discussion -->`` and
  ``<!-- END discussion -->`` in an existing file is kept.

With ``--shard=I/N``, N processes (each pinned to a core: ``taskset -c I``)
share the plan and the results file, whose rows they merge under a lock.
"""

import json
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
from slt_tf.ticket import masking


# The search's flags (listed in --helpshort); this front end's follow.
config_flags.define()
flags.adopt_module_key_flags(config_flags)

_STUDY_DIR = flags.DEFINE_string("study_dir", "workdirs/study",
                                 "Directory of the study's runs.")
_RESULTS_DIR = flags.DEFINE_string(
    "results_dir", "results", "Directory of the results file and figures.")
_RESULTS_JSON = flags.DEFINE_string(
    "results_json", None, "The rows (default: RESULTS_DIR/cpu_reproduction"
    ".json).")
_RESULTS_MD = flags.DEFINE_string("results_md", "RESULTS.md",
                                  "The report (Markdown).")
_TICKET_KEEP_RATIOS = flags.DEFINE_list(
    "ticket_keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
    "Keep ratios of the ticket searches.")
_BASELINES = flags.DEFINE_list(
    "baselines", ["dense", "random_mask", "random_dense",
                  "adversarial_ticket"], "Baseline methods.")
_BASELINE_KEEP_RATIO = flags.DEFINE_float(
    "baseline_keep_ratio", 0.1, "Keep ratio of the masked baselines "
    "(random_mask, adversarial_ticket).")
_SEEDS = flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of every setting.")
_EXTRA_SEEDS = flags.DEFINE_list(
    "extra_seeds", [], "More seeds, for the settings in --extra_seed_groups "
    "only (where the spread across seeds is large).")
_EXTRA_SEED_GROUPS = flags.DEFINE_list(
    "extra_seed_groups", [], "The settings that get --extra_seeds, named "
    "METHOD_kKEEP as in the runs' names: ticket_k0.1,dense_k1.")
_REPORT_CHECKPOINT = flags.DEFINE_enum(
    "report_checkpoint", "latest", ["latest", "best"], "The checkpoint of each "
    "run that is reported: the last, or the best on the selection split "
    "(needs --eval_every), for every method alike.")
_METHOD_FLAGS = flags.DEFINE_multi_string(
    "method_flags", [], "'METHOD --flag=value ...' (repeatable): flags that "
    "replace the shared ones for that method's runs only (its tuned "
    "learning rate, say); other methods keep the shared flags.")
_SHARD = flags.DEFINE_string(
    "shard", "0/1", "I/N: run every N-th setting of the plan from the I-th; "
    "the N processes share the results file (on 2 cores, pin each to a core "
    "with taskset).")
_TUNING_JSON = flags.DEFINE_string(
    "tuning_json", None, "The tuning pilots' rows (python -m slt_tf.tune), "
    "tabled in the report when given.")

def _results_json_path(results_dir: str) -> str:
  return _RESULTS_JSON.value or os.path.join(results_dir,
                                             "cpu_reproduction.json")


def _plan():
  """(shared configuration, every run of the study, this shard's runs).

  Raises:
    ValueError: starting with the flag at fault.
  """
  keep_ratios = plan_lib.parse_keep_ratios(_TICKET_KEEP_RATIOS.value,
                                           "ticket_keep_ratios")
  masking.validate_keep_ratio(_BASELINE_KEEP_RATIO.value, "baseline_keep_ratio")
  seeds = cli.integers(_SEEDS)
  if not seeds:
    raise ValueError("seeds is empty")
  settings = plan_lib.study_plan(
      keep_ratios, _BASELINES.value, _BASELINE_KEEP_RATIO.value, seeds,
      cli.integers(_EXTRA_SEEDS), _EXTRA_SEED_GROUPS.value)
  if not settings:
    raise ValueError("ticket_keep_ratios and baselines are empty: nothing "
                     "to run")
  index, count = plan_lib.parse_shard(_SHARD.value)
  base = cli.base_config(_STUDY_DIR.value)
  overrides = pilots.method_overrides(_METHOD_FLAGS.value,
                                      {s.method for s in settings})
  runs = plan_lib.study_runs(
      base, settings, os.path.join(_STUDY_DIR.value, "runs"),
      _REPORT_CHECKPOINT.value,
      method_bases={m: config for m, (_, config) in overrides.items()},
      method_flags={m: pilot.flags for m, (pilot, _) in overrides.items()})
  return base, runs, plan_lib.shard(runs, index, count)


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  with errors.exit_on_error(flagged=(ValueError,)):
    base, runs, mine = _plan()
    tuning_rows = None
    if _TUNING_JSON.value:
      if not os.path.exists(_TUNING_JSON.value):
        raise ValueError(f"tuning_json: {_TUNING_JSON.value} does not exist "
                         "(python -m slt_tf.tune writes it)")
      with open(_TUNING_JSON.value) as f:
        tuning_rows = json.load(f)
  cli.record_flags(_STUDY_DIR.value)
  os.makedirs(os.path.join(_STUDY_DIR.value, "runs"), exist_ok=True)
  results_json = _results_json_path(_RESULTS_DIR.value)
  command = cli.command("slt_tf.study")

  def write_report(rows):
    if rows:
      report.write_report(base, rows, results_json, _RESULTS_DIR.value,
                          _RESULTS_MD.value, command, tuning_rows)
  with errors.exit_on_error(plain=(FloatingPointError,)):
    # Rows of settings no longer planned, or of other flags (an earlier
    # study's), are dropped from the file, also by a shard that does not
    # run them.
    cli.execute(runs, mine, results_json,
                lambda r: (r["method"], r["keep_ratio"], r["seed"]),
                drop_others=True, then=write_report, kind="study")
  print(open(_RESULTS_MD.value).read())


if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
