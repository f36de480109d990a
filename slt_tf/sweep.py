r"""Runs the search over several keep ratios (and the dense baseline), then
evaluates each on the held-out report split and writes a table and a plot.

  python -m slt_tf.sweep --flagfile=configs/demo.cfg --sweep_dir=workdirs/sweep \
      --keep_ratios=0.05,0.1,0.3,0.5 --dense

Every search flag of ``slt_tf.train`` applies to all runs; each run gets
``SWEEP_DIR/ticket_k<k>_s<seed>`` (or ``SWEEP_DIR/dense_k1_s<seed>``) as its
workdir, so a rerun resumes them. Outputs: ``results.json`` (the study's rows),
``results.md`` and ``fid_vs_keep_ratio.png`` in the sweep directory. The sweep
is a preset of the study (``slt_tf.study.plan.sweep_plan``): ``slt_tf.study``
does the same over every baseline and several seeds.
"""

import os
import sys

from absl import app
from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf.study import cli
from slt_tf.study import plan as plan_lib
from slt_tf.study import report
from slt_tf.study import runner


# The search's flags (listed in --helpshort); this front end's follow.
config_flags.define()
flags.adopt_module_key_flags(config_flags)

_SWEEP_DIR = flags.DEFINE_string("sweep_dir", None,
                                 "Directory of the runs and the results.")
_KEEP_RATIOS = flags.DEFINE_list("keep_ratios", ["0.05", "0.1", "0.3", "0.5"],
                                 "Keep ratios of the ticket searches.")
_DENSE = flags.DEFINE_bool("dense", True, "Also run the dense baseline.")


def main(argv):
  if len(argv) > 1:
    sys.exit(f"error: unexpected arguments {argv[1:]}")
  if not _SWEEP_DIR.value:
    sys.exit("error: --sweep_dir is required")
  with errors.exit_on_error(flagged=(ValueError,)):
    keep_ratios = plan_lib.parse_keep_ratios(_KEEP_RATIOS.value,
                                              "keep_ratios")
  if not keep_ratios and not _DENSE.value:
    sys.exit("error: --keep_ratios is empty and --nodense: nothing to run")
  with errors.exit_on_error(flagged=(ValueError,)):
    base = cli.base_config(_SWEEP_DIR.value)
    runs = plan_lib.study_runs(
        base, plan_lib.sweep_plan(keep_ratios, _DENSE.value, base.seed),
        _SWEEP_DIR.value)
  with errors.exit_on_error(plain=(FloatingPointError,)):
    report.write_sweep(runner.run_plan(runs, kind="sweep"), _SWEEP_DIR.value)
  print(open(os.path.join(_SWEEP_DIR.value, "results.md")).read())


if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
