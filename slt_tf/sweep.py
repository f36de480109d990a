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

from absl import app
from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf.study import commands

commands.define_sweep()
# --helpshort lists the search's flags and this command's.
flags.adopt_module_key_flags(config_flags)
flags.adopt_module_key_flags(commands)

main = commands.sweep

if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
