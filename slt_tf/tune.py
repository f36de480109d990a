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

from absl import app
from absl import flags

from slt_tf import config_flags
from slt_tf import errors
from slt_tf.study import commands

commands.define_tune()
# --helpshort lists the search's flags and this command's.
flags.adopt_module_key_flags(config_flags)
flags.adopt_module_key_flags(commands)

main = commands.tune

if __name__ == "__main__":
  app.run(main, flags_parser=errors.parse_flags)
