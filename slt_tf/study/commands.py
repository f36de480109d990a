"""The plan commands' flags and bodies: ``python -m slt_tf.study``,
``slt_tf.tune`` and ``slt_tf.sweep`` each call one ``define_*`` at import and
hand ``app.run`` the matching body. Each body turns its flags into a plan
(``slt_tf.study.plan``, ``slt_tf.study.pilots``), runs it against its results
file (``cli.execute``) and writes its report (``slt_tf.study.report``).
"""

import json
import os

from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf.study import cli
from slt_tf.study import pilots
from slt_tf.study import plan as plan_lib
from slt_tf.study import report
from slt_tf.study import runner
from slt_tf.ticket import masking

FLAGS = flags.FLAGS
# Methods whose pilots the tuning runs: those that learn.
_TUNABLE = ("ticket", "dense", "adversarial_ticket")


def define_study() -> None:
  """The search's flags and the study's."""
  config_flags.define()
  flags.DEFINE_string("study_dir", "workdirs/study",
                      "Directory of the study's runs.")
  flags.DEFINE_string("results_dir", "results",
                      "Directory of the results file and figures.")
  flags.DEFINE_string("results_json", None, "The rows (default: "
                      "RESULTS_DIR/cpu_reproduction.json).")
  flags.DEFINE_string("results_md", "RESULTS.md", "The report (Markdown).")
  flags.DEFINE_list("ticket_keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
                    "Keep ratios of the ticket searches.")
  flags.DEFINE_list("baselines", ["dense", "random_mask", "random_dense",
                                  "adversarial_ticket"], "Baseline methods.")
  flags.DEFINE_float("baseline_keep_ratio", 0.1, "Keep ratio of the masked "
                     "baselines (random_mask, adversarial_ticket).")
  flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds of every setting.")
  flags.DEFINE_list("extra_seeds", [], "More seeds, for the settings in "
                    "--extra_seed_groups only (where the spread across seeds "
                    "is large).")
  flags.DEFINE_list("extra_seed_groups", [], "The settings that get "
                    "--extra_seeds, named METHOD_kKEEP as in the runs' names: "
                    "ticket_k0.1,dense_k1.")
  flags.DEFINE_enum("report_checkpoint", "latest", ["latest", "best"],
                    "The checkpoint of each run that is reported: the last, or "
                    "the best on the selection split (needs --eval_every), for "
                    "every method alike.")
  flags.DEFINE_multi_string(
      "method_flags", [], "'METHOD --flag=value ...' (repeatable): flags that "
      "replace the shared ones for that method's runs only (its tuned "
      "learning rate, say); other methods keep the shared flags.")
  _define_shard("setting")
  flags.DEFINE_bool("report_only", False, "Run nothing: rewrite the report "
                    "from the rows stored so far (a study in progress, or one "
                    "whose runs are not in this checkout).")
  flags.DEFINE_string("tuning_json", None, "The tuning pilots' rows (python "
                      "-m slt_tf.tune), tabled in the report when given.")


def _define_shard(what: str) -> None:
  flags.DEFINE_string(
      "shard", "0/1", f"I/N: run every N-th {what} of the plan from the I-th; "
      "the N processes share the results file (on 2 cores, pin each to a core "
      "with taskset).")


def _study_plan():
  """(shared configuration, every run of the study, this shard's runs).

  Raises:
    ValueError: starting with the flag at fault.
  """
  keep_ratios = plan_lib.parse_keep_ratios(FLAGS.ticket_keep_ratios,
                                           "ticket_keep_ratios")
  masking.validate_keep_ratio(FLAGS.baseline_keep_ratio,
                              "baseline_keep_ratio")
  seeds = _seeds()
  settings = plan_lib.study_plan(
      keep_ratios, FLAGS.baselines, FLAGS.baseline_keep_ratio, seeds,
      cli.integers(FLAGS["extra_seeds"]), FLAGS.extra_seed_groups)
  if not settings:
    raise ValueError("ticket_keep_ratios and baselines are empty: nothing "
                     "to run")
  index, count = plan_lib.parse_shard(FLAGS.shard)
  base = cli.base_config(FLAGS.study_dir)
  overrides = pilots.method_overrides(FLAGS.method_flags,
                                      {s.method for s in settings})
  runs = plan_lib.study_runs(
      base, settings, os.path.join(FLAGS.study_dir, "runs"),
      FLAGS.report_checkpoint,
      method_bases={m: config for m, (_, config) in overrides.items()},
      method_flags={m: pilot.flags for m, (pilot, _) in overrides.items()})
  return base, runs, plan_lib.shard(runs, index, count)


def _seeds():
  seeds = cli.integers(FLAGS["seeds"])
  if not seeds:
    raise ValueError("seeds is empty")
  return seeds


def _tuning_rows():
  if not FLAGS.tuning_json:
    return None
  if not os.path.exists(FLAGS.tuning_json):
    raise ValueError(f"tuning_json: {FLAGS.tuning_json} does not exist "
                     "(python -m slt_tf.tune writes it)")
  with open(FLAGS.tuning_json) as f:
    return json.load(f)


def study(argv) -> None:
  """The body of ``python -m slt_tf.study``."""
  errors.no_arguments(argv)
  with errors.exit_on_error(flagged=(ValueError,)):
    base, runs, mine = _study_plan()
    tuning_rows = _tuning_rows()
  results_json = (FLAGS.results_json or
                  os.path.join(FLAGS.results_dir, "cpu_reproduction.json"))
  command = cli.command("slt_tf.study")

  def write_report(rows):
    if rows:
      report.write_report(base, rows, results_json, FLAGS.results_dir,
                          FLAGS.results_md, command, tuning_rows)
  # Rows of settings no longer planned, or of other flags (an earlier
  # study's), are dropped from the file, also by a shard that does not run
  # them.
  if FLAGS.report_only:
    mine = []
  cli.run_and_report(FLAGS.study_dir, "flags.txt", runs, mine, results_json,
                     lambda r: (r["method"], r["keep_ratio"], r["seed"]),
                     drop_others=True, then=write_report, kind="study")
  print(open(FLAGS.results_md).read())


def define_tune() -> None:
  """The search's flags and the pilots'."""
  config_flags.define()
  flags.DEFINE_string("tune_dir", "workdirs/tune",
                      "Directory of the pilots' runs.")
  flags.DEFINE_string(
      "pilots", None, "The pilots: a JSON file {\"pilots\": [{\"name\": ..., "
      "\"flags\": {...}, \"only\": [...]}, ...]} (slt_tf.study.pilots).")
  flags.DEFINE_multi_string(
      "pilot", [], "A pilot written here: 'NAME --flag=value ...' "
      "(repeatable; after the file's); '--only=m1,m2' limits its methods. "
      "Without --pilots and --pilot: one pilot, 'shared'.")
  flags.DEFINE_list("methods", ["ticket", "dense"],
                    "Methods every pilot runs for.")
  flags.DEFINE_float("tune_keep_ratio", 0.1,
                     "Keep ratio of the masked methods' pilots.")
  flags.DEFINE_list("seeds", ["0", "1"], "Seeds of every pilot.")
  flags.DEFINE_integer(
      "tune_eval_seed", 1, "Seed of the pilots' evaluation latents (the best "
      "checkpoint was chosen with seed 0's).")
  flags.DEFINE_integer("tune_bn_batches", 20, "Latent batches of the "
                       "re-estimated batch-norm variants.")
  _define_shard("run")
  flags.DEFINE_string("results_json", "results/tuning.json",
                      "The rows (shared by the shards).")
  flags.DEFINE_string("results_md", "results/tuning.md",
                      "The pilots' table (Markdown).")


def _tune_plan():
  """(shared configuration, every pilot run, this shard's runs, the shard
  as (index, count)).

  Raises:
    ValueError: starting with the flag at fault.
  """
  chosen = pilots.load_pilots(FLAGS.pilots) if FLAGS.pilots else []
  chosen += [pilots.parse_pilot(text) for text in FLAGS.pilot]
  if not chosen:
    chosen = [pilots.parse_pilot("shared")]
  names = [p.name for p in chosen]
  if len(set(names)) != len(names):
    raise ValueError(f"pilot names must differ, got {names}")
  for name in FLAGS.methods:
    if name not in _TUNABLE:
      raise ValueError(f"methods must be among {', '.join(_TUNABLE)} "
                       f"(methods that learn), got {name!r}")
  seeds = _seeds()
  index, count = plan_lib.parse_shard(FLAGS.shard)
  if FLAGS.tune_bn_batches < 1:
    raise ValueError(f"tune_bn_batches must be >= 1, got "
                     f"{FLAGS.tune_bn_batches}")
  base = cli.base_config(FLAGS.tune_dir)
  for pilot in chosen:  # Every pilot's configuration, before any run.
    pilots.pilot_config(pilot)
  runs = pilots.tuning_runs(chosen, FLAGS.methods, FLAGS.tune_keep_ratio,
                            seeds, os.path.join(FLAGS.tune_dir, "runs"),
                            FLAGS.tune_eval_seed, FLAGS.tune_bn_batches)
  return base, runs, plan_lib.shard(runs, index, count), (index, count)


def tune(argv) -> None:
  """The body of ``python -m slt_tf.tune``."""
  errors.no_arguments(argv)
  with errors.exit_on_error(flagged=(ValueError,)):
    base, runs, mine, (index, count) = _tune_plan()
  command = cli.command("slt_tf.tune")
  write = lambda rows: report.write_pilots_table(rows, FLAGS.results_md,
                                                 command, base)
  write(cli.run_and_report(FLAGS.tune_dir, f"flags.{index}of{count}.txt",
                           runs, mine, FLAGS.results_json, pilots.row_key,
                           drop_others=False, then=write, kind="tuning"))
  print(open(FLAGS.results_md).read())


def define_sweep() -> None:
  """The search's flags and the sweep's."""
  config_flags.define()
  flags.DEFINE_string("sweep_dir", None,
                      "Directory of the runs and the results.")
  flags.DEFINE_list("keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
                    "Keep ratios of the ticket searches.")
  flags.DEFINE_bool("dense", True, "Also run the dense baseline.")


def sweep(argv) -> None:
  """The body of ``python -m slt_tf.sweep``."""
  errors.no_arguments(argv)
  with errors.exit_on_error(flagged=(ValueError,)):
    if not FLAGS.sweep_dir:
      raise ValueError("sweep_dir is required")
    keep_ratios = plan_lib.parse_keep_ratios(FLAGS.keep_ratios,
                                              "keep_ratios")
    if not keep_ratios and not FLAGS.dense:
      raise ValueError("keep_ratios is empty and --nodense: nothing to run")
    base = cli.base_config(FLAGS.sweep_dir)
    runs = plan_lib.study_runs(
        base, plan_lib.sweep_plan(keep_ratios, FLAGS.dense, base.seed),
        FLAGS.sweep_dir)
  with errors.exit_on_error(plain=(FloatingPointError,)):
    report.write_sweep(runner.run_plan(runs, kind="sweep"), FLAGS.sweep_dir)
  print(open(os.path.join(FLAGS.sweep_dir, "results.md")).read())
