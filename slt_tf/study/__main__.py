r"""The reproduction study: the ticket search against its baselines, several
seeds, evaluated on a split no search saw, written up as results and a report.

  python -m slt_tf.study --flagfile=configs/study_cpu.cfg

Every search flag of ``slt_tf.train`` applies to every run. Runs go to
``--study_dir/runs/<method>_k<keep>_s<seed>`` and resume, so rerunning the
command after an interruption continues where it stopped. Outputs, rewritten after every run:

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

from absl import app
from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf.study import commands

commands.define_study()
# --helpshort lists the search's flags and this command's.
flags.adopt_module_key_flags(config_flags)
flags.adopt_module_key_flags(commands)

main = commands.study

if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
